"""A small OpenAI-compatible chat server over a real transformers model, for the judge's tests.

`python tests/score/chat_server.py --port P --model DIR` serves POST /v1/chat/completions (greedy
or sampled generation from the model's chat template), GET /v1/models, and GET /stats (how many
completion requests arrived, per user message). Faults a real endpoint shows are triggered by
markers in the user message, so a test can aim them at chosen records:
  [[fail-once]]   the first request with this message gets a 503, later ones an answer;
  [[always-500]]  every request gets a 500;
  [[slow]]        the answer comes after --slow-s seconds (past the client's timeout).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pipeline.http_json import send_json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--slow-s", type=float, default=5.0)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    lock = threading.Lock()  # one generation at a time; requests queue as on a busy server
    seen: dict[str, int] = {}

    def generate(messages: list[dict], max_tokens: int, temperature: float) -> str:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with lock, torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=max_tokens, pad_token_id=tokenizer.eos_token_id, **sampling)
        return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            send_json(self, status, body)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": "local", "object": "model"}]})
            elif self.path == "/stats":
                with lock:
                    self._send(200, {"requests": sum(seen.values()), "by_message": dict(seen)})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": "not found"})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            user = body["messages"][-1]["content"]
            with lock:
                seen[user] = seen.get(user, 0) + 1
                count = seen[user]
            if "[[always-500]]" in user:
                self._send(500, {"error": "internal error"})
                return
            if "[[fail-once]]" in user and count == 1:
                self._send(503, {"error": "overloaded"})
                return
            if "[[slow]]" in user:
                time.sleep(args.slow_s)
            text = generate(body["messages"], int(body.get("max_tokens") or 16), float(body.get("temperature") or 0))
            self._send(200, {"id": f"chatcmpl-{count}", "object": "chat.completion", "model": body.get("model"),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": text}}]})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
