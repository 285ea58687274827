using System.Text;
using System.Text.Json;
using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// The keys seen so far in one object of a request, so that a key given twice is refused naming it; otherwise the
/// later value would silently replace the earlier one (or, for <c>data</c>, be read as a second tensor). The keys the
/// server knows are bits, so the usual request decodes no key into a string; any other key is decoded (which checks
/// its text) and kept in a set made on the first one.
/// </summary>
internal struct JsonKeys(JsonFieldPath owner)
{
    private uint _known;
    private HashSet<string>? _others;

    /// <summary>
    /// True when the property name the reader is on is <paramref name="key"/>, the known key numbered
    /// <paramref name="bit"/> (0 to 31, one per key of this object); 400 when it was given before.
    /// </summary>
    public bool Is(ref Utf8JsonReader reader, ReadOnlySpan<byte> key, int bit)
    {
        // Comparing an escaped name unescapes it, which throws for an unpaired surrogate; names are rarely escaped.
        if (reader.ValueIsEscaped && !JsonText.TryRead(ref reader, out _))
        {
            throw JsonText.NotTextIn(owner);
        }
        if (!reader.ValueTextEquals(key))
        {
            return false;
        }
        var mask = 1u << bit;
        if ((_known & mask) != 0)
        {
            throw Repeated(owner, Encoding.UTF8.GetString(key));
        }
        _known |= mask;
        return true;
    }

    /// <summary>The property name the reader is on, which is none of the known keys; 400 when it was given before or is not valid text.</summary>
    public string Other(ref Utf8JsonReader reader)
    {
        if (!JsonText.TryRead(ref reader, out var name))
        {
            throw JsonText.NotTextIn(owner);
        }
        if (!(_others ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
        {
            throw Repeated(owner, name);
        }
        return name;
    }

    private static InferenceException Repeated(JsonFieldPath owner, string key) =>
        InferenceException.Invalid($"key '{key}' is given more than once in {owner}; a JSON object's keys must be unique");
}
