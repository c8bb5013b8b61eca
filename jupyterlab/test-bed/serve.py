"""Serves the test-bed JupyterLab (built by build-host.js) with Debian's jupyter-server and jupyterlab-server.

An installed JupyterLab is a LabServerApp whose application folder (sys.prefix/share/jupyter/lab) holds the
built front end (static/, also the page template), schemas/, themes/ and settings/; prebuilt extensions come
from the labextensions folders on the Jupyter path, listed to the front end as `federated_extensions` in the
page config. This app is the same thing pointed at the test bed's folder, with what jupyter-server 1.23 and
jupyterlab-server 2.16 lack for a 4.6 front end filled in (see /work/shared/notes/jupyterlab-testbed.md).

Usage: /usr/bin/python3 serve.py --lab-dir DIR [any ServerApp option: --ServerApp.port=… --IdentityProvider…]
Keep JUPYTER_PATH, JUPYTER_DATA_DIR, JUPYTER_CONFIG_DIR and JUPYTER_RUNTIME_DIR pointed at the test's folders.
"""

import json
import os
import sys

from jupyter_server.base.handlers import JupyterHandler
from jupyterlab_server import LabServerApp
from tornado import web, websocket
from traitlets import Unicode


class MeHandler(JupyterHandler):
    """`GET /api/me` (jupyter-server 2): the identity the 4.6 front end asks for; 1.23 has no such route."""

    @web.authenticated
    def get(self):
        username = os.environ.get("USER", "tester")
        self.finish(
            json.dumps(
                {
                    "identity": {"username": username, "name": username, "display_name": username, "initials": username[:1].upper(), "avatar_url": None, "color": None},
                    "permissions": {},
                }
            )
        )


class EventsHandler(websocket.WebSocketHandler):
    """`/api/events/subscribe` (jupyter-server 2's event bus): accepted and kept silent, so the front end does
    not retry it in a loop."""

    def check_origin(self, origin):
        return True

    def on_message(self, message):
        pass


class TestBedLabApp(LabServerApp):
    # The extension point is the module that defines the app (launched as a script: __main__).
    name = __name__
    extension_url = "/lab"
    default_url = "/lab"
    app_url = "/lab"
    load_other_extensions = False
    lab_dir = Unicode("", config=True, help="The built application folder (build/lab): static, schemas, themes, settings.")

    aliases = dict(LabServerApp.aliases)
    aliases["lab-dir"] = "TestBedLabApp.lab_dir"

    def _application_version(self):
        try:
            with open(os.path.join(self.lab_dir, "static", "package.json"), encoding="utf-8") as manifest:
                return json.load(manifest)["version"]
        except (OSError, KeyError, ValueError):
            return ""

    def initialize_settings(self):
        if not self.lab_dir or not os.path.isfile(os.path.join(self.lab_dir, "static", "index.html")):
            sys.exit(f"quicksort test bed: no built application at {self.lab_dir!r}; run node jupyterlab/test-bed/build-host.js")
        lab = os.path.abspath(self.lab_dir)
        self.static_dir = os.path.join(lab, "static")
        self.templates_dir = os.path.join(lab, "static")
        self.schemas_dir = os.path.join(lab, "schemas")
        self.themes_dir = os.path.join(lab, "themes")
        self.app_settings_dir = os.path.join(lab, "settings")
        data_dir = os.environ.get("JUPYTER_DATA_DIR") or os.path.join(lab, "user")
        self.user_settings_dir = os.path.join(data_dir, "lab", "user-settings")
        self.workspaces_dir = os.path.join(data_dir, "lab", "workspaces")
        # jupyterlab-server 2.16 leaves the token out of the page config; the 4.6 front end reads it there for
        # its REST and websocket calls (a login cookie also works, but a fresh browser context has none).
        page_config = self.settings.setdefault("page_config_data", {})
        page_config["token"] = self.serverapp.token
        self.app_name = "JupyterLab"
        self.app_version = self._application_version()
        super().initialize_settings()

    def initialize_templates(self):
        lab = os.path.abspath(self.lab_dir)
        self.static_paths = [os.path.join(lab, "static")]
        self.template_paths = [os.path.join(lab, "static")]

    def initialize_handlers(self):
        self.handlers.append((r"/api/me", MeHandler))
        self.handlers.append((r"/api/events/subscribe", EventsHandler))
        super().initialize_handlers()


def _jupyter_server_extension_points():
    # jupyter-server finds the app to load through its module (here the script itself).
    return [{"module": __name__, "app": TestBedLabApp}]


if __name__ == "__main__":
    TestBedLabApp.launch_instance()
