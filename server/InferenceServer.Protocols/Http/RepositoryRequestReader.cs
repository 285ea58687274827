using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Reads the bodies of the repository extension's requests, each optional: the index's <c>{"ready": bool}</c>, and
/// load's and unload's <c>{"parameters": {...}}</c>. Load takes <c>config</c> (a JSON model config, as a string),
/// <c>file:&lt;version&gt;/&lt;name&gt;</c> (base64 file contents) and <c>timeout</c> (microseconds, as Triton's
/// inference requests give theirs); unload takes <c>unload_dependents</c> (a boolean). Other parameters are ignored, as
/// Triton does.
/// </summary>
internal static class RepositoryRequestReader
{
    /// <summary>The index request's <c>ready</c>: list only the models that are ready (false when not given).</summary>
    public static bool ReadIndex(ReadOnlySpan<byte> body) =>
        ReadBoolean(body, ReadObject, "repository index", "ready", "'ready' must be true or false");

    /// <summary>
    /// The load parameters; null when the body gives none. Each file is decoded straight into the upload
    /// <paramref name="beginUpload"/> makes on the first one (so the body's base64 is the only copy held in memory); the
    /// caller disposes that upload once the load is done, or the reading failed.
    /// </summary>
    public static ModelLoadOverrides? ReadLoad(ReadOnlySpan<byte> body, Func<ModelUpload> beginUpload)
    {
        string? config = null;
        ModelUpload? upload = null;
        TimeSpan? timeout = null;
        ReadParameters(body, "load", (ref Utf8JsonReader reader, string name) =>
        {
            if (name == "config")
            {
                config = reader.TokenType == JsonTokenType.String
                    ? JsonText.Read(ref reader, "load parameter 'config'")
                    : throw InferenceException.Invalid("load parameter 'config' must be a string holding the model config as JSON");
            }
            else if (name == "timeout")
            {
                timeout = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var microseconds) && microseconds > 0
                    ? ModelLoadOverrides.TimeoutFromMicroseconds(microseconds)
                    : throw InferenceException.Invalid("load parameter 'timeout' must be a positive whole number of microseconds");
            }
            else if (name.StartsWith("file:", StringComparison.Ordinal))
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw InferenceException.Invalid($"load parameter '{name}' must be a string holding the file's contents in base64");
                }
                upload ??= beginUpload();
                Base64FileDecoder.Write(upload, name["file:".Length..], reader.ValueSpan, reader.ValueIsEscaped, name);
            }
            else
            {
                reader.Skip();
            }
        });
        return config is null && upload is null && timeout is null ? null : new ModelLoadOverrides(config, upload) { Timeout = timeout };
    }

    /// <summary>The unload request's <c>unload_dependents</c> (false when not given).</summary>
    public static bool ReadUnload(ReadOnlySpan<byte> body) =>
        ReadBoolean(body, ReadParameters, "unload", "unload_dependents", "unload parameter 'unload_dependents' must be true or false");

    private delegate void BodyReader(ReadOnlySpan<byte> body, string what, PropertyHandler handle);

    // One boolean property (of the body, or of its parameters) that the request may give.
    private static bool ReadBoolean(ReadOnlySpan<byte> body, BodyReader read, string what, string name, string error)
    {
        var value = false;
        read(body, what, (ref Utf8JsonReader reader, string property) =>
        {
            if (property == name)
            {
                value = Boolean(ref reader, error);
            }
            else
            {
                reader.Skip();
            }
        });
        return value;
    }

    private delegate void PropertyHandler(ref Utf8JsonReader reader, string name);

    private static bool Boolean(ref Utf8JsonReader reader, string error) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw InferenceException.Invalid(error),
    };

    // Each property of the "parameters" object of the body.
    private static void ReadParameters(ReadOnlySpan<byte> body, string what, PropertyHandler handle) =>
        ReadObject(body, what, (ref Utf8JsonReader reader, string name) =>
        {
            if (name != "parameters")
            {
                reader.Skip();
                return;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid($"'parameters' of the {what} request must be a JSON object");
            }
            ReadProperties(ref reader, what, handle);
        });

    // Each top-level property of the body, the reader on its value; an empty body has none.
    private static void ReadObject(ReadOnlySpan<byte> body, string what, PropertyHandler handle)
    {
        if (body.IsEmpty)
        {
            return;
        }
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid($"the {what} request body must be a JSON object");
            }
            ReadProperties(ref reader, what, handle);
        }
        catch (JsonException e)
        {
            throw InferenceException.Invalid($"malformed JSON in the {what} request: {e.Message}");
        }
    }

    // The properties of the object the reader is at the start of, each handed over on its value.
    private static void ReadProperties(ref Utf8JsonReader reader, string what, PropertyHandler handle)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // A name's text is checked only when it is decoded; one that is not UTF-8 is the client's 400, not a 500.
            if (!JsonText.TryRead(ref reader, out var name))
            {
                throw InferenceException.Invalid($"a property name in the {what} request is {JsonText.NotUtf8}");
            }
            reader.Read();
            handle(ref reader, name);
        }
    }
}
