"""A Hugging Face Hub stand-in on 127.0.0.1 for tests: the endpoints huggingface_hub's upload and download calls use.

Serves create_repo (POST /api/repos/create), README metadata checks (POST /api/validate-yaml), model_info and
resolve_revision (GET /api/models/OWNER/NAME[/revision/REV]), uploads as regular (non-LFS) files
(POST .../preupload/REV, then an NDJSON commit, POST .../commit/REV) and downloads
(HEAD and GET /OWNER/NAME/resolve/REV/PATH, with the X-Repo-Commit and ETag headers hf_hub_download needs).
Every request is logged as (method, path) so that tests can say what was and was not asked for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class Repo:
    """A model repository: commits (sha -> {path: bytes}) and refs (branch -> sha)."""

    def __init__(self, private: bool = False):
        self.private = private
        self.commits: dict[str, dict[str, bytes]] = {}
        self.refs: dict[str, str] = {}

    def commit(self, files: dict[str, bytes], deleted: tuple[str, ...] = (), branch: str = "main") -> str:
        parent = self.commits.get(self.refs.get(branch, ""), {})
        tree = {path: data for path, data in parent.items() if path not in deleted} | files
        sha = hashlib.sha1(json.dumps({p: hashlib.sha256(d).hexdigest() for p, d in sorted(tree.items())}).encode() + branch.encode()).hexdigest()
        self.commits[sha] = tree
        self.refs[branch] = sha
        return sha

    def resolve(self, revision: str) -> str | None:
        return self.refs.get(revision) or (revision if revision in self.commits else None)


class HubServer:
    """`with HubServer() as hub:` a server on a free port; hub.endpoint is its URL, hub.repos its repositories."""

    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HubServer:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> str:
        """A repository holding `files` in one commit on main; returns the commit sha."""
        self.repos[repo_id] = Repo()
        return self.repos[repo_id].commit(files)

    def downloads(self, repo_id: str) -> list[str]:
        """Paths of the files of `repo_id` that were asked for (HEAD or GET on resolve)."""
        prefix = f"/{repo_id}/resolve/"
        return [path[len(prefix) :].split("/", 1)[1] for _, path in self.requests if path.startswith(prefix)]


def _handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, status: int, code: str, message: str) -> None:
            self.reply(status, json.dumps({"error": message}).encode(), {"X-Error-Code": code, "X-Error-Message": message})

        def body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def route(self) -> tuple[str, list[str]]:
            path = urlsplit(self.path).path
            hub.requests.append((self.command, path))
            return path, [unquote(part) for part in path.strip("/").split("/")]

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path, parts = self.route()
            if parts[:2] == ["api", "models"] and len(parts) in (4, 6):
                revision = parts[5] if len(parts) == 6 else "main"
                repo_id, sha = self.find(f"{parts[2]}/{parts[3]}", revision)
                if sha:
                    files = hub.repos[repo_id].commits[sha]
                    info = {"id": repo_id, "modelId": repo_id, "sha": sha, "private": hub.repos[repo_id].private, "siblings": [{"rfilename": p} for p in files]}
                    self.reply(200, json.dumps(info).encode())
            elif len(parts) >= 5 and parts[2] == "resolve":
                repo_id, sha = self.find(f"{parts[0]}/{parts[1]}", parts[3])
                if sha:
                    name = "/".join(parts[4:])
                    data = hub.repos[repo_id].commits[sha].get(name)
                    if data is None:
                        self.error(404, "EntryNotFound", f"{name} does not exist at {sha}")
                    else:
                        self.reply(200, data, {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}, "application/octet-stream")
            else:
                self.error(404, "NotFound", f"no route for GET {path}")

        def find(self, repo_id: str, revision: str) -> tuple[str, str | None]:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self.error(404, "RepoNotFound", f"Repository {repo_id} not found")
                return repo_id, None
            sha = repo.resolve(revision)
            if sha is None:
                self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return repo_id, sha

        def do_POST(self) -> None:
            path, parts = self.route()
            payload = self.body()
            if parts == ["api", "repos", "create"]:
                request = json.loads(payload)
                repo_id = f"{request['organization']}/{request['name']}"
                if repo_id in hub.repos:  # the hub's answer: an error that still names the repository's URL
                    self.reply(409, json.dumps({"error": "You already created this model repo", "url": f"{hub.endpoint}/{repo_id}"}).encode())
                else:
                    hub.repos[repo_id] = Repo(private=request.get("visibility") == "private" or bool(request.get("private")))
                    self.reply(200, json.dumps({"url": f"{hub.endpoint}/{repo_id}"}).encode())
            elif parts == ["api", "validate-yaml"]:
                self.reply(200, json.dumps({"errors": [], "warnings": []}).encode())
            elif parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "preupload":
                files = json.loads(payload)["files"]
                answer = {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]}
                self.reply(200, json.dumps(answer).encode())
            elif parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "commit":
                repo_id, branch = f"{parts[2]}/{parts[3]}", parts[5]
                if repo_id not in hub.repos:
                    self.error(404, "RepoNotFound", f"Repository {repo_id} not found")
                    return
                lines = [json.loads(line) for line in payload.decode().splitlines() if line.strip()]
                files = {item["value"]["path"]: base64.b64decode(item["value"]["content"]) for item in lines if item["key"] == "file"}
                deleted = tuple(item["value"]["path"] for item in lines if item["key"] == "deletedFile")
                if any(item["key"] not in ("header", "file", "deletedFile") for item in lines):
                    self.error(400, "BadRequest", "this test hub takes regular files only")
                    return
                sha = hub.repos[repo_id].commit(files, deleted, branch)
                self.reply(200, json.dumps({"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{sha}", "commitOid": sha}).encode())
            else:
                self.error(404, "NotFound", f"no route for POST {path}")

    return Handler
