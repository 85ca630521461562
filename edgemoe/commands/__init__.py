"""CLI verbs. Each module defines ``register(subparsers)`` that adds its verbs with
``set_defaults(func=...)``; edgemoe.cli discovers them, so adding a verb touches one file.  Modules named ``_*`` are
helpers shared by the verbs."""
