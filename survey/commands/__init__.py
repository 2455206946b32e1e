"""The ``manyi`` commands, one module per area; :mod:`survey.cli` assembles them.

==================  ===========================================================
module              commands
==================  ===========================================================
``base``            ``fail``, the instance and schema checks, the wave-code type
``instance``        ``init``, ``demo``, ``questionnaires check|load``, ``purge-expired``
``waves``           ``wave create|open|close|list``, ``points add|list``, ``qr``
``accounts``        ``users add|reset-password|disable|enable|list``
``data``            ``export``, ``import``
``publication``     ``score`` (from :mod:`survey.commands.score`), ``publish``
``indicators``      ``indicators import|list`` (the plan's indicator values)
``integrity``       ``integrity`` (coached points and bot farms, read only)
``jobs``            ``worker`` (runs the queued office jobs)
==================  ===========================================================

**Adding a command**: define it in its area's module with
:func:`survey.commands.base.command` (or ``<group>.command``), call services for every
read and write, add it to the module's ``COMMANDS``; a new area is a new module listed
in :data:`survey.cli.MANYI_COMMANDS`.
"""
