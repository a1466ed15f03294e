"""End to end: `pagedflex serve` on 127.0.0.1 driven by the official `openai` client, its
/metrics read by `prometheus-client`'s parser, and a bounded load test.

Run by scripts/test-e2e (which builds the venv and passes PAGEDFLEX_BIN and PAGEDFLEX_MODEL).
Every server is started on a free port (--port 0; the port is read from its first line) and is
always stopped; every request has a timeout, so nothing here can hang CI.
"""
import concurrent.futures
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import urllib.parse

import openai
from prometheus_client.parser import text_string_to_metric_families

BIN = os.environ["PAGEDFLEX_BIN"]
MODEL = os.environ["PAGEDFLEX_MODEL"]
TIMEOUT = 120


def request(method, url, body=None, timeout=TIMEOUT):
    """One HTTP request with the standard library: (status, headers, body text)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, u.path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


class Server:
    """`pagedflex serve` on a free loopback port; a context manager that always stops it."""

    def __init__(self, *flags):
        self.flags = list(flags)

    def __enter__(self):
        self.proc = subprocess.Popen(
            [BIN, "serve", "--model", MODEL, "--host", "127.0.0.1", "--port", "0", "--ping-interval", "0.2",
             "--log-level", "warning", *self.flags],
            stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if "listening on" in line or self.proc.poll() is not None:
                break
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]
        while time.time() < deadline:  # 503 until the model is loaded
            try:
                if request("GET", self.url + "/health", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        self.client = openai.OpenAI(base_url=self.url + "/v1", api_key="none", timeout=TIMEOUT, max_retries=0)
        self.model = self.client.models.list().data[0].id
        return self

    def metrics(self):
        text = request("GET", self.url + "/metrics", timeout=30)[2]
        samples = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                key = (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "model_name")))
                samples[key] = s.value
        return samples

    def engine(self):
        return json.loads(request("GET", self.url + "/v1/engine", timeout=30)[2])

    def stop(self):
        if self.proc.stdout:
            self.proc.stdout.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode

    def __exit__(self, *exc):
        self.stop()


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_idle(server, seconds=30):
    """Until the engine holds no page and nothing runs or waits (or the time is up)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        u = server.engine()
        if u["usedPageCount"] == 0 and u["runningSequences"] == 0 and u["waitingSequences"] == 0:
            return u
        time.sleep(0.05)
    return server.engine()


def read_stream(url, body, stop_after=None):
    """POSTs a streaming request; returns (status, data payloads, well_formed). With stop_after,
    closes the connection after that many data events (a client that goes away)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
    try:
        conn.request("POST", u.path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        if r.status != 200:
            r.read()
            return r.status, [], True
        payloads, event, done, well_formed = [], [], False, True
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode()
            if line != "\n":
                event.append(line)
                continue
            text, event = "".join(event), []
            if text.startswith(":"):
                continue
            if not text.startswith("data: ") or text.count("\n") != 1 or done:
                well_formed = False
                continue
            data = text[6:-1]
            if data == "[DONE]":
                done = True
                continue
            try:
                payloads.append(json.loads(data))
            except ValueError:
                well_formed = False
            if stop_after is not None and len(payloads) >= stop_after:
                return 200, payloads, well_formed
        return 200, payloads, well_formed and done and not event
    finally:
        conn.close()


class OpenAIClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().__enter__()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, f"serve exited {code} on SIGTERM"

    def test_completion(self):
        r = self.server.client.completions.create(model=self.server.model, prompt="The capital of France is", max_tokens=8, temperature=0)
        self.assertEqual(r.object, "text_completion")
        self.assertTrue(r.choices[0].text)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens)
        extra = r.model_extra["pagedflex"]
        self.assertGreater(extra["kv_pages_peak"], 0)
        self.assertGreater(extra["ttft_s"], 0)

    def test_streamed_chat_equals_the_unstreamed_text(self):
        messages = [{"role": "user", "content": "What is paged attention?"}]
        whole = self.server.client.chat.completions.create(model=self.server.model, messages=messages, max_tokens=24, temperature=0)
        stream = self.server.client.chat.completions.create(model=self.server.model, messages=messages, max_tokens=24, temperature=0, stream=True)
        text, finish = "", None
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
        self.assertEqual(text, whole.choices[0].message.content)
        self.assertEqual(finish, whole.choices[0].finish_reason)

    def test_n_2(self):
        r = self.server.client.completions.create(model=self.server.model, prompt="Once upon a time", max_tokens=8, n=2, temperature=1.0, seed=3)
        self.assertEqual(sorted(c.index for c in r.choices), [0, 1])

    def test_logprobs(self):
        r = self.server.client.completions.create(model=self.server.model, prompt="One, two, three,", max_tokens=4, temperature=0, logprobs=2)
        lp = r.choices[0].logprobs
        self.assertEqual(len(lp.tokens), len(lp.token_logprobs))
        self.assertTrue(all(v <= 0 for v in lp.token_logprobs))
        self.assertTrue(all(len(t) == 2 for t in lp.top_logprobs))
        c = self.server.client.chat.completions.create(
            model=self.server.model, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0, logprobs=True, top_logprobs=3)
        content = c.choices[0].logprobs.content
        self.assertTrue(content)
        for entry in content:
            self.assertEqual(len(entry.top_logprobs), 3)
            self.assertAlmostEqual(entry.top_logprobs[0].logprob, entry.logprob, places=5)

    def test_include_usage(self):
        stream = self.server.client.chat.completions.create(
            model=self.server.model, messages=[{"role": "user", "content": "Hi"}], max_tokens=6, stream=True,
            stream_options={"include_usage": True})
        chunks = list(stream)
        self.assertEqual(chunks[-1].choices, [])
        self.assertGreater(chunks[-1].usage.completion_tokens, 0)
        self.assertTrue(all(c.usage is None for c in chunks[:-1]))

    def test_cached_tokens_on_a_repeated_long_prompt(self):
        prompt = "PagedFlex keeps keys and values in fixed-size pages. " * 12
        self.server.client.completions.create(model=self.server.model, prompt=prompt, max_tokens=2, temperature=0)
        r = self.server.client.completions.create(model=self.server.model, prompt=prompt, max_tokens=2, temperature=0)
        self.assertGreater(r.usage.prompt_tokens_details.cached_tokens, 0)
        self.assertGreater(r.model_extra["pagedflex"]["kv_pages_shared_peak"], 0)

    def test_errors_are_openai_errors(self):
        with self.assertRaises(openai.NotFoundError):
            self.server.client.completions.create(model="no-such-model", prompt="hi", max_tokens=2)
        with self.assertRaises(openai.BadRequestError) as e:
            self.server.client.completions.create(model=self.server.model, prompt="hi " * 9000, max_tokens=2)
        self.assertIn("8192", str(e.exception))
        with self.assertRaises(openai.BadRequestError):
            self.server.client.completions.create(model=self.server.model, prompt="hi", max_tokens=2, presence_penalty=1.0)

    def test_metrics_count_exactly_after_known_requests(self):
        before = self.server.metrics()
        prompt_tokens = completion_tokens = 0
        for i in range(3):
            r = self.server.client.completions.create(model=self.server.model, prompt=f"Request {i}:", max_tokens=3, temperature=0)
            prompt_tokens += r.usage.prompt_tokens
            completion_tokens += r.usage.completion_tokens
        wait_idle(self.server)
        after = self.server.metrics()
        done = sum(value(after, "vllm:request_success_total", finished_reason=f) - value(before, "vllm:request_success_total", finished_reason=f)
                   for f in ("stop", "length", "abort"))
        self.assertEqual(done, 3)
        for h in ("vllm:e2e_request_latency_seconds_count", "vllm:time_to_first_token_seconds_count", "vllm:request_queue_time_seconds_count"):
            self.assertEqual(value(after, h) - value(before, h), 3, h)
        self.assertEqual(value(after, "vllm:prompt_tokens_total") - value(before, "vllm:prompt_tokens_total"), prompt_tokens)
        self.assertEqual(value(after, "vllm:generation_tokens_total") - value(before, "vllm:generation_tokens_total"), completion_tokens)

    def test_aborted_clients_leave_nothing_running_and_no_pages(self):
        before = self.server.metrics()
        # Greedy, on a prompt that goes on well past two tokens, so no request ends by itself first.
        body = {"model": self.server.model, "prompt": "Once upon a time, in a small village,", "max_tokens": 200, "temperature": 0,
                "stream": True}
        for _ in range(3):
            status, payloads, _ = read_stream(self.server.url + "/v1/completions", body, stop_after=2)
            self.assertEqual(status, 200)
        usage = wait_idle(self.server)
        self.assertEqual(usage["usedPageCount"], 0, usage)
        after = self.server.metrics()
        self.assertEqual(value(after, "vllm:num_requests_running"), 0)
        self.assertEqual(value(after, "vllm:num_requests_waiting"), 0)
        self.assertEqual(value(after, "pagedflex:kv_pages_used"), 0)
        self.assertEqual(value(after, "vllm:request_success_total", finished_reason="abort")
                         - value(before, "vllm:request_success_total", finished_reason="abort"), 3)

    def test_a_vanished_non_streamed_client_cancels_its_request(self):
        """A non-streamed request writes nothing until it ends: the server must notice the closed
        connection itself (its read side) and cancel the generation, not run 1,000 tokens."""
        before = self.server.metrics()
        body = {"model": self.server.model, "prompt": "Once upon a time, in a small village,", "max_tokens": 1000,
                "temperature": 0}
        u = urllib.parse.urlsplit(self.server.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        conn.request("POST", "/v1/completions", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        time.sleep(0.5)  # generating now
        conn.close()
        closed = time.time()
        usage = wait_idle(self.server, 10)
        self.assertEqual(usage["usedPageCount"] + usage["runningSequences"] + usage["waitingSequences"], 0, usage)
        self.assertLess(time.time() - closed, 5)
        after = self.server.metrics()
        self.assertEqual(value(after, "vllm:request_success_total", finished_reason="abort")
                         - value(before, "vllm:request_success_total", finished_reason="abort"), 1)


class LoadTest(unittest.TestCase):
    """32 concurrent streaming clients (a quarter go away early), then a burst past
    --max-waiting: no 5xx, every stream well formed, 429 only in the burst, no page held after."""

    def test_bounded_load(self):
        with Server("--max-waiting", "40") as server:
            url = server.url + "/v1/completions"

            def client(i):
                body = {"model": server.model, "prompt": f"Client {i} writes about " + "the sea " * (i % 8 * 6 + 2),
                        "max_tokens": 12, "temperature": 0.7, "seed": i, "stream": True}
                return read_stream(url, body, stop_after=2 if i % 4 == 0 else None)

            with concurrent.futures.ThreadPoolExecutor(32) as pool:
                results = list(pool.map(client, range(32)))
            for i, (status, payloads, well_formed) in enumerate(results):
                self.assertEqual(status, 200, f"client {i}")
                self.assertTrue(well_formed, f"client {i}: a malformed stream")
                if i % 4 != 0:
                    self.assertIsNotNone(payloads[-1]["choices"][0]["finish_reason"] if payloads[-1]["choices"] else "done")

            def burst(i):
                body = {"model": server.model, "prompt": "Burst request " + "with some padding words " * 10 + str(i), "max_tokens": 1}
                status, headers, text = request("POST", url, body)
                return status, headers.get("retry-after"), json.loads(text)

            with concurrent.futures.ThreadPoolExecutor(64) as pool:
                answers = list(pool.map(burst, range(160)))
            statuses = [a[0] for a in answers]
            self.assertFalse([s for s in statuses if s >= 500], "5xx in the burst")
            self.assertTrue(set(statuses) <= {200, 429}, statuses)
            self.assertIn(429, statuses, "the burst never passed --max-waiting")
            for status, retry_after, body in answers:
                if status == 429:
                    self.assertEqual(retry_after, "1")
                    self.assertEqual(body["error"]["type"], "rate_limit_error")
            usage = wait_idle(server)
            self.assertEqual(usage["usedPageCount"], 0, usage)
            m = server.metrics()
            self.assertEqual(value(m, "pagedflex:kv_pages_used"), 0)
            self.assertEqual(value(m, "vllm:num_requests_running"), 0)
            self.assertEqual(value(m, "vllm:num_requests_waiting"), 0)
            self.assertEqual(value(m, "pagedflex:requests_rejected_total"), statuses.count(429))
            self.assertEqual(server.stop(), 0)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_lets_a_stream_finish_and_exits_0(self):
        with Server("--shutdown-grace", "20") as server:
            body = {"model": server.model, "prompt": "Count: one two three", "max_tokens": 24, "stream": True}
            result = {}
            t = threading.Thread(target=lambda: result.update(r=read_stream(server.url + "/v1/completions", body)))
            t.start()
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGTERM)
            t.join(TIMEOUT)
            self.assertEqual(server.proc.wait(timeout=60), 0)
            status, payloads, well_formed = result["r"]
            self.assertEqual(status, 200)
            self.assertTrue(well_formed, "the in-flight stream was cut instead of finishing")


if __name__ == "__main__":
    unittest.main(verbosity=2)
