"""scoring/ is pure: importing it pulls in neither Flask nor SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys


def test_import_scoring_leaves_flask_and_sqlalchemy_out():
    code = (
        "import sys, scoring, scoring.questionnaire, scoring.synthetic\n"
        "import pkgutil, importlib\n"
        "for module in pkgutil.iter_modules(scoring.__path__):\n"
        "    if module.name != '__main__':\n"
        "        importlib.import_module('scoring.' + module.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'survey'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
