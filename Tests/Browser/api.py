"""The API read directly, outside the browser: what the console should be showing."""

import json
import urllib.error
import urllib.request


class API:
    def __init__(self, base_url, token):
        self.base_url = base_url
        self.token = token

    def call(self, method, path, body=None):
        """(status, parsed JSON or None) of one request."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, _json(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())

    def get(self, path):
        status, document = self.call("GET", path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {document}")
        return document


def _json(data):
    try:
        return json.loads(data)
    except ValueError:
        return None
