# The WSGI app of the compatibility suite (gunicorn): answers "ok PID".
import os


def app(environ, start_response):
    body = b"ok %d\n" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
