"""The citizen web page: server-rendered templates, one script, one style sheet."""

from souverain.web.routes import mount_web, web_router

__all__ = ["mount_web", "web_router"]
