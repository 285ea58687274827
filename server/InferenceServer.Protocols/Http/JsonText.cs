using System.Text.Json;
using System.Text.Unicode;
using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// The text of a request's JSON strings, checked where it is decoded. <see cref="Utf8JsonReader"/> finds where a string
/// ends but checks its text only when it is decoded (<c>GetString</c>, <c>CopyString</c>, and comparing an escaped
/// name): invalid or truncated UTF-8 and an unpaired surrogate escape such as <c>"\ud800"</c> are found there, and
/// reported as <see cref="InvalidOperationException"/>, not the <see cref="JsonException"/> of malformed JSON. These
/// turn that into a 400 naming the field, so the reader's own check is the only pass over the text.
/// </summary>
internal static class JsonText
{
    /// <summary>What is wrong with text that the reader refused, for an error message.</summary>
    public const string NotUtf8 = "not valid UTF-8 text (an invalid or truncated byte sequence, or an unpaired surrogate escape such as \\ud800); JSON strings must be UTF-8";

    /// <summary>The string (or property name) the reader is on; 400 naming <paramref name="field"/> when its text is not valid.</summary>
    public static string Read(ref Utf8JsonReader reader, JsonFieldPath field)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw NotText(field);
        }
    }

    /// <summary>The string the reader is on, or false when its text is not valid (the caller names the field).</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out string text)
    {
        try
        {
            text = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }

    /// <summary>
    /// Copies the unescaped UTF-8 of the string the reader is on, or false when its text is not valid (the caller names
    /// the element). <see cref="Utf8JsonReader.CopyString(Span{byte})"/> checks the UTF-8 as it copies.
    /// </summary>
    public static bool TryCopy(ref Utf8JsonReader reader, Span<byte> destination, out int written)
    {
        try
        {
            written = reader.CopyString(destination);
            return true;
        }
        catch (InvalidOperationException)
        {
            written = 0;
            return false;
        }
    }

    /// <summary>
    /// Skips the value the reader is on (after a property name, its value), as <see cref="Utf8JsonReader.Skip"/> does,
    /// checking the text of every string in it: a value the server ignores must still be JSON, whose text is UTF-8.
    /// </summary>
    public static void Skip(ref Utf8JsonReader reader, JsonFieldPath owner)
    {
        if (reader.TokenType == JsonTokenType.PropertyName)
        {
            reader.Read();
        }
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                CheckText(ref reader, owner);
            }
            return;
        }
        // Inside the value every token is deeper than its start; the end that matches the start is at its depth.
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
            {
                CheckText(ref reader, owner);
            }
        }
    }

    /// <summary>The error for a string, <paramref name="field"/>, whose text is not valid.</summary>
    public static InferenceException NotText(JsonFieldPath field) => InferenceException.Invalid($"{field} is {NotUtf8}");

    /// <summary>The error for a key, or a string among the values the server skips, of <paramref name="owner"/> whose text is not valid.</summary>
    public static InferenceException NotTextIn(JsonFieldPath owner) => InferenceException.Invalid($"{owner} has a key or string that is {NotUtf8}");

    // Unescaped text is only checked (no string made); escaped text is checked by unescaping it, as the reader does.
    private static void CheckText(ref Utf8JsonReader reader, JsonFieldPath owner)
    {
        if (reader.ValueIsEscaped ? !TryRead(ref reader, out _) : !Utf8.IsValid(reader.ValueSpan))
        {
            throw NotTextIn(owner);
        }
    }
}
