#!/usr/bin/python3
"""KServe v2 REST cases that speak exactly as Triton's Python client (tritonclient.http) does, standard library only.

tritonclient cannot be installed here, so TritonHttpClient below does what its infer() does, byte for byte where it
matters (tritonclient/http/_client.py, _utils.py, _infer_result.py):

- the request JSON is compact; with binary inputs the body is the JSON followed by the tensors, and the header
  Inference-Header-Content-Length is the length of the uncompressed JSON;
- request_compression_algorithm "gzip" sends gzip.compress(body), "deflate" sends zlib.compress(body) (the zlib format,
  which is what HTTP's "deflate" means), each with Content-Encoding;
- response_compression_algorithm sets Accept-Encoding to exactly "gzip" or "deflate";
- a 200 response is gzip.decompress'ed or zlib.decompress'ed by its Content-Encoding, then split at the response's
  Inference-Header-Content-Length; any other status is read as UTF-8 JSON {"error": ...} without decompressing.

The xunit fixture (TritonHttpClientTests.cs) starts the server with the sample models. Run:

  /usr/bin/python3 triton_http_cases.py --url http://127.0.0.1:PORT --results results.json [--case NAME ...]
  /usr/bin/python3 triton_http_cases.py --list
"""

import argparse
import gzip
import http.client
import json
import struct
import sys
import time
import traceback
import urllib.parse
import zlib

CASES = []

FORMATS = {"INT32": "i", "FP32": "f", "FP64": "d", "INT64": "q", "UINT8": "B", "BOOL": "?"}


def case(name):
    def register(fn):
        CASES.append((name, fn))
        return fn

    return register


class InferenceServerException(Exception):
    """What tritonclient raises for a non-200 answer: the server's error text and the HTTP status."""

    def __init__(self, msg, status):
        super().__init__(f"[{status}] {msg}")
        self.msg = msg
        self.status = status


class Tensor:
    """An input as tritonclient.http.InferInput holds it: JSON data, or raw bytes with binary_data_size."""

    def __init__(self, name, shape, datatype, values, binary):
        self.name, self.shape, self.datatype, self.values, self.binary = name, shape, datatype, values, binary

    def raw(self):
        if self.datatype == "BYTES":
            return b"".join(struct.pack("<I", len(v)) + v for v in self.values)
        return struct.pack("<" + FORMATS[self.datatype] * len(self.values), *self.values)

    def get_tensor(self):
        # _infer_input.py: name, shape, datatype, then parameters, then data when not binary.
        tensor = {"name": self.name, "shape": self.shape, "datatype": self.datatype}
        if self.binary:
            tensor["parameters"] = {"binary_data_size": len(self.raw())}
        else:
            tensor["data"] = [v.decode() for v in self.values] if self.datatype == "BYTES" else self.values
        return tensor


class Response:
    """The parts of geventhttpclient's response tritonclient reads."""

    def __init__(self, status, headers, body):
        self.status_code, self.headers, self.body = status, headers, body

    def get(self, name):
        return self.headers.get(name.lower())


class TritonHttpClient:
    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def post(self, uri, body, headers):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("POST", uri, body=body, headers=headers)
            response = connection.getresponse()
            # http.client undoes chunked framing, as geventhttpclient does; it never undoes Content-Encoding.
            data = response.read()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    @staticmethod
    def raise_if_error(response):
        # _utils._get_error: the body is decoded as UTF-8 JSON as it came, never decompressed.
        if response.status_code != 200:
            body = response.body.decode("utf-8")
            error = json.loads(body) if len(body) else {"error": "client received an empty response from the server."}
            raise InferenceServerException(error["error"], response.status_code)

    def infer(self, model, inputs, outputs=None, request_compression_algorithm=None, response_compression_algorithm=None,
              extra_headers=None):
        infer_request = {"inputs": [t.get_tensor() for t in inputs]}
        parameters = {}
        if outputs:
            infer_request["outputs"] = [{"name": name, "parameters": {"binary_data": binary}} for name, binary in outputs]
        else:
            parameters["binary_data_output"] = True
        if parameters:
            infer_request["parameters"] = parameters
        request_json = json.dumps(infer_request, separators=(",", ":"))
        json_size = len(request_json)
        parts = [request_json.encode()] + [t.raw() for t in inputs if t.binary]
        request_body = b"".join(parts)
        headers = dict(extra_headers or {})
        if request_compression_algorithm == "gzip":
            headers["Content-Encoding"] = "gzip"
            request_body = gzip.compress(request_body)
        elif request_compression_algorithm == "deflate":
            headers["Content-Encoding"] = "deflate"
            request_body = zlib.compress(request_body)
        if response_compression_algorithm == "gzip":
            headers["Accept-Encoding"] = "gzip"
        elif response_compression_algorithm == "deflate":
            headers["Accept-Encoding"] = "deflate"
        if len(parts) > 1:
            headers["Inference-Header-Content-Length"] = str(json_size)
        response = self.post(f"/v2/models/{urllib.parse.quote(model)}/infer", request_body, headers)
        self.raise_if_error(response)
        return InferResult(response)


class InferResult:
    """_infer_result.InferResult: decompress by Content-Encoding, then split the JSON header from the binary outputs."""

    def __init__(self, response):
        self.content_encoding = response.get("Content-Encoding")
        body = response.body
        if self.content_encoding == "gzip":
            body = gzip.decompress(body)
        elif self.content_encoding == "deflate":
            body = zlib.decompress(body)
        header_length = response.get("Inference-Header-Content-Length")
        if header_length is None:
            self.result, self.buffer = json.loads(body), b""
        else:
            header_length = int(header_length)
            self.result, self.buffer = json.loads(body[:header_length]), body[header_length:]
        self.offsets = {}
        offset = 0
        for output in self.result["outputs"]:
            size = output.get("parameters", {}).get("binary_data_size")
            if size is not None:
                self.offsets[output["name"]] = (offset, size)
                offset += size
        assert offset == len(self.buffer), f"binary outputs declare {offset} bytes, the body has {len(self.buffer)}"

    def as_list(self, name):
        output = next(o for o in self.result["outputs"] if o["name"] == name)
        if name not in self.offsets:
            return output["data"]
        start, size = self.offsets[name]
        raw = self.buffer[start:start + size]
        if output["datatype"] == "BYTES":
            values, at = [], 0
            while at < len(raw):
                (length,) = struct.unpack_from("<I", raw, at)
                values.append(raw[at + 4:at + 4 + length])
                at += 4 + length
            return values
        code = FORMATS[output["datatype"]]
        return list(struct.unpack("<" + code * (size // struct.calcsize(code)), raw))


def simple_inputs(binary, batch=8):
    a = [i - 50 for i in range(batch * 16)]
    b = [3 * i + 1 for i in range(batch * 16)]
    return a, b, [Tensor("INPUT0", [batch, 16], "INT32", a, binary), Tensor("INPUT1", [batch, 16], "INT32", b, binary)]


def round_trip(client, binary, request_coding, response_coding):
    a, b, inputs = simple_inputs(binary)
    outputs = [("OUTPUT0", binary), ("OUTPUT1", binary)]
    result = client.infer("simple", inputs, outputs, request_compression_algorithm=request_coding,
                          response_compression_algorithm=response_coding)
    # The server is started to compress every successful response a client accepts compressed, as Triton does.
    assert result.content_encoding == response_coding, f"asked for {response_coding}, got Content-Encoding {result.content_encoding}"
    assert result.as_list("OUTPUT0") == [x + y for x, y in zip(a, b)], "OUTPUT0 is not INPUT0 + INPUT1"
    assert result.as_list("OUTPUT1") == [x - y for x, y in zip(a, b)], "OUTPUT1 is not INPUT0 - INPUT1"


for _format in ("json", "binary"):
    for _request in (None, "gzip", "deflate"):
        for _response in (None, "gzip", "deflate"):
            _name = f"{_format}_request_{_request or 'identity'}_response_{_response or 'identity'}"
            case(_name)(lambda client, f=_format, q=_request, r=_response: round_trip(client, f == "binary", q, r))


@case("binary_outputs_by_default_gzip_both_ways")
def binary_outputs_by_default(client):
    # No outputs named: tritonclient asks for every output in binary (binary_data_output).
    a, b, inputs = simple_inputs(binary=True, batch=2)
    result = client.infer("simple", inputs, None, "gzip", "gzip")
    assert result.content_encoding == "gzip"
    assert result.as_list("OUTPUT0") == [x + y for x, y in zip(a, b)]


@case("bytes_tensors_deflate_both_ways")
def bytes_tensors(client):
    text = [("compressible text " * 40).encode(), "café déjà vu".encode()]
    result = client.infer("text_upper", [Tensor("TEXT", [2], "BYTES", text, True)], [("UPPER", True), ("SAME", False)],
                          "deflate", "deflate")
    assert result.content_encoding == "deflate"
    assert result.as_list("UPPER")[0] == text[0].upper()
    assert result.as_list("SAME") == [t.decode() for t in text]


@case("errors_are_readable_uncompressed_when_compression_was_asked")
def errors_are_plain(client):
    _, _, inputs = simple_inputs(binary=True)
    try:
        client.infer("simple", inputs[:1], [("OUTPUT0", True)], "gzip", "gzip")
    except InferenceServerException as e:
        assert e.status == 400, e
        assert "missing input 'INPUT1'" in e.msg, e.msg
        return
    raise AssertionError("a request missing INPUT1 succeeded")


@case("unknown_request_coding_is_415_with_accept_encoding")
def unknown_coding(client):
    body = json.dumps({"inputs": []}).encode()
    response = client.post("/v2/models/simple/infer", body, {"Content-Encoding": "br"})
    assert response.status_code == 415, response.status_code
    assert response.get("Accept-Encoding") == "gzip, deflate", response.headers
    try:
        client.raise_if_error(response)
    except InferenceServerException as e:
        assert "unsupported Content-Encoding 'br'" in e.msg, e.msg
        return
    raise AssertionError("a 415 did not read as an error")


def run(client, selected):
    results = []
    for name, fn in CASES:
        if selected and name not in selected:
            continue
        start = time.monotonic()
        try:
            fn(client)
            failure = None
        except Exception:
            failure = traceback.format_exc()
        print(f"{'PASS' if failure is None else 'FAIL'} {name}", file=sys.stderr)
        results.append({"name": name, "passed": failure is None, "failure": failure, "seconds": round(time.monotonic() - start, 3)})
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="the server's REST address, e.g. http://127.0.0.1:8000")
    parser.add_argument("--results", help="file to write the JSON results to (default: stdout)")
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(name for name, _ in CASES))
        return 0
    if not args.url:
        parser.error("--url is required")
    text = json.dumps({"cases": run(TritonHttpClient(args.url), set(args.case))}, indent=1)
    if args.results:
        with open(args.results, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
