"""Request dispatch without a directory listing per request (moto 5.2.x).

moto's server picks the backend of every request under one global lock, and to do it lists moto's package
directory (os.listdir plus an isdir per entry, ~170 stat calls) and then tries every service's URL patterns.
Under concurrent load that lock is the emulator's ceiling: profiled with py-spy during 10 000 concurrent likes,
threads spent 79 % of moto's time waiting in `get_application`, and throughput stopped near 300 requests/s for
every service at once. The backend a host maps to never changes while the server runs, so it is computed once
per host; what is chosen is unchanged.
"""
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_UNSET = object()


def _memoised(original):
    def get_backend_for_host(self, host):
        cache = self.__dict__.setdefault("_stampede_backend_by_host", {})
        backend = cache.get(host, _UNSET)
        if backend is _UNSET:
            backend = cache[host] = original(self, host)
        return backend

    get_backend_for_host.__wrapped__ = original
    return get_backend_for_host


def patch():
    DomainDispatcherApplication.get_backend_for_host = _memoised(DomainDispatcherApplication.get_backend_for_host)
