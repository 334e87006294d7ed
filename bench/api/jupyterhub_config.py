# JupyterHub 6.1 for Berth's API benchmark (bench/api/run.ts): its REST API on the hub port, no proxy
# process (berth_null_proxy.NullProxy, from the berth/pytools image), its default SQLite database.
import os

c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["BENCH_PUBLIC_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["BENCH_HUB_PORT"])
c.JupyterHub.proxy_class = "berth_null_proxy.NullProxy"
c.JupyterHub.db_url = "sqlite:////tmp/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/tmp/jupyterhub_cookie_secret"
c.JupyterHub.log_level = "WARN"
# No system accounts: users exist only in the hub database, as in Berth.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.services = [{"name": "bench", "api_token": os.environ["BENCH_ADMIN_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "bench", "scopes": ["admin:users", "list:users", "tokens"], "services": ["bench"]}
]
