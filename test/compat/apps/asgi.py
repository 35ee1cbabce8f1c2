# The ASGI app of the compatibility suite (uvicorn): answers "ok PID".
import os


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b"ok %d\n" % os.getpid()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
