"""A small KServe v2 gRPC client on Debian's python3-grpcio, independent of the server's code.

The message classes come from a descriptor set that protoc writes from the server's .proto files
(Debian's python3-protobuf cannot load the Python code today's protoc generates), and each method is
called by its path with explicit serializers, so nothing here is generated ahead of time.
"""

import struct

import grpc
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

INFERENCE = "inference.GRPCInferenceService"
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1.ServerReflection"

# Messages of any size: the server's limits are what the tests are about, not the client's.
UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


class Messages:
    """Message classes by full name (``inference.ModelInferRequest``), built from a descriptor set."""

    def __init__(self, descriptor_set_path):
        with open(descriptor_set_path, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            self.pool.Add(file)
        self._factory = message_factory.MessageFactory(self.pool)
        self._classes = {}

    def __call__(self, full_name, /, **fields):
        """A new message of type ``full_name`` with ``fields`` set."""
        return self.type(full_name)(**fields)

    def type(self, full_name):
        cls = self._classes.get(full_name)
        if cls is None:
            descriptor = self.pool.FindMessageTypeByName(full_name)
            # GetMessageClass replaced GetPrototype in newer protobuf releases; Debian's 4.21 has the latter.
            get = getattr(message_factory, "GetMessageClass", None)
            cls = get(descriptor) if get else self._factory.GetPrototype(descriptor)
            self._classes[full_name] = cls
        return cls

    def method(self, service, name):
        return self.pool.FindServiceByName(service).FindMethodByName(name)


class Client:
    """One channel to the server's gRPC port; methods are named as in the service (``ModelInfer``)."""

    def __init__(self, target, messages, compression=None, options=()):
        self.messages = messages
        self.channel = grpc.insecure_channel(target, options=UNLIMITED + list(options), compression=compression)

    def close(self):
        self.channel.close()

    def _callable(self, kind, service, method):
        descriptor = self.messages.method(service, method)
        response = self.messages.type(descriptor.output_type.full_name)
        factory = getattr(self.channel, kind)
        return factory(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )

    def call(self, method, request, timeout=30, service=INFERENCE, **kwargs):
        """A unary call; answers the response message or raises grpc.RpcError."""
        return self._callable("unary_unary", service, method)(request, timeout=timeout, **kwargs)

    def call_with_call(self, method, request, timeout=30, service=INFERENCE, **kwargs):
        """A unary call; answers (response, call) so metadata can be read."""
        return self._callable("unary_unary", service, method).with_call(request, timeout=timeout, **kwargs)

    def future(self, method, request, timeout=None, service=INFERENCE, **kwargs):
        """A unary call started in the background: a grpc.Future that can be cancelled."""
        return self._callable("unary_unary", service, method).future(request, timeout=timeout, **kwargs)

    def stream(self, requests, timeout=60, **kwargs):
        """ModelStreamInfer: an iterator over the responses to ``requests`` (an iterable of ModelInferRequest)."""
        return self._callable("stream_stream", INFERENCE, "ModelStreamInfer")(iter(requests), timeout=timeout, **kwargs)

    def stream_method(self, service, method, requests, timeout=60, **kwargs):
        """Any bidirectional-streaming method: an iterator over the responses to ``requests``."""
        return self._callable("stream_stream", service, method)(iter(requests), timeout=timeout, **kwargs)

    def raw_unary(self, path, payload, timeout=30):
        """Sends ``payload`` bytes as the request message of ``path``, whatever they are; answers the response bytes."""
        call = self.channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        return call(payload, timeout=timeout)

    def raw_stream(self, path, payloads, timeout=60):
        """Sends each of ``payloads`` as a message of a streaming call; answers an iterator over response bytes."""
        call = self.channel.stream_stream(path, request_serializer=None, response_deserializer=None)
        return call(iter(payloads), timeout=timeout)


# The v2 datatypes: numpy's little-endian type for raw contents, and the InferTensorContents list that
# carries them typed (None: raw only). BF16 has no numpy type; it travels as its 16-bit patterns.
DATATYPES = {
    "BOOL": ("|b1", "bool_contents"),
    "UINT8": ("|u1", "uint_contents"),
    "UINT16": ("<u2", "uint_contents"),
    "UINT32": ("<u4", "uint_contents"),
    "UINT64": ("<u8", "uint64_contents"),
    "INT8": ("|i1", "int_contents"),
    "INT16": ("<i2", "int_contents"),
    "INT32": ("<i4", "int_contents"),
    "INT64": ("<i8", "int64_contents"),
    "FP16": ("<f2", None),
    "BF16": ("<u2", None),
    "FP32": ("<f4", "fp32_contents"),
    "FP64": ("<f8", "fp64_contents"),
    "BYTES": (None, "bytes_contents"),
}


def to_raw(datatype, values):
    """The raw_input_contents bytes of ``values`` (a numpy array; BYTES: a sequence of bytes)."""
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v)) + v for v in values)
    return np.ascontiguousarray(values, dtype=DATATYPES[datatype][0]).tobytes()


def from_raw(datatype, data, shape):
    """The values in raw_output_contents bytes: a numpy array, or for BYTES a list of bytes."""
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(data):
            if offset + 4 > len(data):
                raise ValueError(f"BYTES contents end inside a length prefix at offset {offset}")
            (length,) = struct.unpack_from("<I", data, offset)
            offset += 4
            if offset + length > len(data):
                raise ValueError(f"a BYTES element of {length} bytes runs past the end of the contents at offset {offset}")
            values.append(bytes(data[offset : offset + length]))
            offset += length
        return values
    return np.frombuffer(data, dtype=DATATYPES[datatype][0]).reshape(shape)


def set_typed(contents, datatype, values):
    """Fills the InferTensorContents list that carries ``datatype`` with ``values``."""
    field = DATATYPES[datatype][1]
    if field is None:
        raise ValueError(f"{datatype} has no typed contents")
    target = getattr(contents, field)
    if datatype == "BYTES":
        target.extend(values)
    elif datatype == "BOOL":
        target.extend(bool(v) for v in np.ravel(values))
    elif datatype in ("FP32", "FP64"):
        target.extend(float(v) for v in np.ravel(values))
    else:
        target.extend(int(v) for v in np.ravel(values))
