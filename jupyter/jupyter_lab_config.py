"""JupyterLab settings for the course: offline by design, so no news feed and no update check.

Used by the README's command (`jupyter lab --config=jupyter/jupyter_lab_config.py ...`), by the
browser test (tests/test_browser.py) and, installed by binder/postBuild, on Binder.

JupyterLab asks on first start "Would you like to get notified about official Jupyter news?";
accepting would fetch from the internet, and the toast covers a lesson's first cells. The question
is asked by the front end whenever the setting `fetchNews` of
@jupyterlab/apputils-extension:notification is "none" (its default), so it is switched off in
lab-settings/overrides.json, which JupyterLab reads from `LabApp.app_settings_dir`. The server side
is switched off too: `news_url = None` and `NeverCheckForUpdate` mean it would fetch nothing even if
a learner set fetchNews back to "Always".
"""

from pathlib import Path

c = get_config()  # noqa: F821 -- provided by Jupyter when it loads this file

c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / "lab-settings")
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
