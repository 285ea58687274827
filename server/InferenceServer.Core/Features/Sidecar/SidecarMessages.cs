using System.Buffers;
using MessagePack;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// The bodies on the feature sidecar's socket, written as whole frames (<see cref="SidecarFrames"/>) and read from a
/// frame's body. Every body is a MessagePack array whose first element is its <see cref="SidecarMessageKind"/>:
/// <list type="bullet">
/// <item><c>[0, id]</c> ping, answered with the same body;</item>
/// <item><c>[1, id, timeout_ms, view, [field...], [key...]]</c> lookup;</item>
/// <item><c>[2, id, status, message, [[stored_at_unix_ms, [value|nil...]]...]]</c> lookup result
/// (<see cref="SidecarLookupResultWriter"/>, <see cref="SidecarLookupResultReader"/>);</item>
/// <item><c>[3, id, message]</c> protocol error.</item>
/// </list>
/// Readers check every element's type and count and throw <see cref="SidecarProtocolException"/> for anything else.
/// </summary>
public static class SidecarMessages
{
    internal const string PingShape = "[0, id]";
    internal const string LookupShape = "[1, id, timeout_ms, view, [field...], [key...]]";
    internal const string LookupResultShape = "[2, id, status, message, [[stored_at_unix_ms, [value|nil...]]...]]";
    internal const string ProtocolErrorShape = "[3, id, message]";

    /// <summary>
    /// The kind and id of a body (its first two elements), to dispatch it and to name it in a protocol error even when
    /// the rest is malformed.
    /// </summary>
    public static SidecarMessageKind ReadHeader(in ReadOnlySequence<byte> body, out uint id)
    {
        var reader = new SidecarBodyReader(body, "a message");
        var count = reader.ReadArrayHeader("the body");
        if (count < 2)
        {
            throw new SidecarProtocolException($"a message has {count} elements; expected at least a kind and an id");
        }
        var kind = reader.ReadByte("element 0 (the kind)");
        if (kind > (byte)SidecarMessageKind.ProtocolError)
        {
            throw new SidecarProtocolException($"a message is of kind {kind}; expected 0 (ping), 1 (lookup), 2 (lookup result) or 3 (protocol error)");
        }
        id = reader.ReadUInt32("element 1 (the id)");
        return (SidecarMessageKind)kind;
    }

    /// <summary>Writes a ping (or, answering one, the pong: the same body).</summary>
    public static void WritePing(IBufferWriter<byte> output, uint id)
    {
        var buffer = SidecarScratch.Rent();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write((byte)SidecarMessageKind.Ping);
        writer.Write(id);
        writer.Flush();
        SidecarScratch.FrameAndReturn(buffer, output);
    }

    /// <summary>Reads a ping (or pong); returns its id.</summary>
    public static uint ReadPing(in ReadOnlySequence<byte> body)
    {
        var reader = new SidecarBodyReader(body, "a ping");
        reader.ReadEnvelope(2, PingShape);
        ExpectKind(ref reader, SidecarMessageKind.Ping, "a ping");
        var id = reader.ReadUInt32("element 1 (the id)");
        reader.ExpectEnd();
        return id;
    }

    /// <summary>
    /// Writes a lookup: for each of <paramref name="keys"/> (store keys, already formatted by the view's key pattern),
    /// the hash fields <paramref name="fields"/>, answered within <paramref name="timeoutMilliseconds"/>.
    /// </summary>
    public static void WriteLookup(IBufferWriter<byte> output, uint id, uint timeoutMilliseconds, string view,
        IReadOnlyList<string> fields, ReadOnlySpan<string> keys)
    {
        var buffer = SidecarScratch.Rent();
        try
        {
            var writer = new MessagePackWriter(buffer);
            writer.WriteArrayHeader(6);
            writer.Write((byte)SidecarMessageKind.Lookup);
            writer.Write(id);
            writer.Write(timeoutMilliseconds);
            writer.Write(view);
            writer.WriteArrayHeader(fields.Count);
            for (var i = 0; i < fields.Count; i++)
            {
                writer.Write(fields[i]);
            }
            writer.WriteArrayHeader(keys.Length);
            foreach (var key in keys)
            {
                writer.Write(key);
            }
            writer.Flush();
        }
        catch
        {
            SidecarScratch.Return(buffer);
            throw;
        }
        SidecarScratch.FrameAndReturn(buffer, output);
    }

    /// <summary>Reads a lookup.</summary>
    public static SidecarLookup ReadLookup(in ReadOnlySequence<byte> body)
    {
        var reader = new SidecarBodyReader(body, "a lookup");
        reader.ReadEnvelope(6, LookupShape);
        ExpectKind(ref reader, SidecarMessageKind.Lookup, "a lookup");
        var id = reader.ReadUInt32("element 1 (the id)");
        var timeout = reader.ReadUInt32("element 2 (timeout_ms)");
        var view = reader.ReadString("element 3 (the view)");
        var fields = ReadStrings(ref reader, "element 4 (the fields)", "a field in element 4");
        var keys = ReadStrings(ref reader, "element 5 (the keys)", "a key in element 5");
        reader.ExpectEnd();
        return new SidecarLookup(id, timeout, view, fields, keys);
    }

    /// <summary>
    /// Writes a lookup result without rows: the answer to a lookup that failed as a whole (any status but
    /// <see cref="SidecarStatus.Ok"/>), with a message that says why.
    /// </summary>
    public static void WriteLookupFailure(IBufferWriter<byte> output, uint id, SidecarStatus status, string message)
    {
        var buffer = SidecarScratch.Rent();
        try
        {
            var writer = new MessagePackWriter(buffer);
            writer.WriteArrayHeader(5);
            writer.Write((byte)SidecarMessageKind.LookupResult);
            writer.Write(id);
            writer.Write((byte)status);
            writer.Write(message);
            writer.WriteArrayHeader(0);
            writer.Flush();
        }
        catch
        {
            SidecarScratch.Return(buffer);
            throw;
        }
        SidecarScratch.FrameAndReturn(buffer, output);
    }

    /// <summary>Writes a protocol error: what the peer sent that does not follow the wire format.</summary>
    public static void WriteProtocolError(IBufferWriter<byte> output, uint id, string message)
    {
        var buffer = SidecarScratch.Rent();
        try
        {
            var writer = new MessagePackWriter(buffer);
            writer.WriteArrayHeader(3);
            writer.Write((byte)SidecarMessageKind.ProtocolError);
            writer.Write(id);
            writer.Write(message);
            writer.Flush();
        }
        catch
        {
            SidecarScratch.Return(buffer);
            throw;
        }
        SidecarScratch.FrameAndReturn(buffer, output);
    }

    /// <summary>Reads a protocol error; returns its message.</summary>
    public static string ReadProtocolError(in ReadOnlySequence<byte> body, out uint id)
    {
        var reader = new SidecarBodyReader(body, "a protocol error");
        reader.ReadEnvelope(3, ProtocolErrorShape);
        ExpectKind(ref reader, SidecarMessageKind.ProtocolError, "a protocol error");
        id = reader.ReadUInt32("element 1 (the id)");
        var message = reader.ReadString("element 2 (the message)");
        reader.ExpectEnd();
        return message;
    }

    internal static void ExpectKind(ref SidecarBodyReader reader, SidecarMessageKind expected, string what)
    {
        var kind = reader.ReadByte("element 0 (the kind)");
        if (kind != (byte)expected)
        {
            throw new SidecarProtocolException($"a message of kind {kind} was read as {what}; expected kind {(byte)expected}");
        }
    }

    private static string[] ReadStrings(ref SidecarBodyReader reader, string element, string item)
    {
        var count = reader.ReadArrayHeader(element);
        var strings = count == 0 ? [] : new string[count];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = reader.ReadString(item);
        }
        return strings;
    }
}
