"""A JupyterHub proxy class that routes nothing, for measuring the hub's REST API on its own port.

JupyterHub's default ConfigurableHTTPProxy starts configurable-http-proxy (Node.js). Benchmarks and
compatibility tests talk to the hub's port directly, so no route is ever used.
"""

from jupyterhub.proxy import Proxy


class NullProxy(Proxy):
    should_start = False

    async def start(self):
        pass

    async def stop(self):
        pass

    async def add_route(self, routespec, target, data):
        pass

    async def delete_route(self, routespec):
        pass

    async def get_all_routes(self):
        return {}

    async def check_routes(self, *args, **kwargs):
        pass
