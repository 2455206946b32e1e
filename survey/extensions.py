"""Flask extensions, created unbound here and bound to the app in :func:`survey.create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from survey.privacy import client_key

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
# The key function never sees a raw address stored anywhere: it is the keyed hash.
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=True)
