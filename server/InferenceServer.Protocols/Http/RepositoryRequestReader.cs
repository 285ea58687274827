using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Reads the bodies of the repository extension's requests, each optional: the index's <c>{"ready": bool}</c>, and
/// load's and unload's <c>{"parameters": {...}}</c>. Load takes <c>config</c> (a JSON model
/// config, as a string) and <c>file:&lt;version&gt;/&lt;name&gt;</c> (base64 file contents); unload takes
/// <c>unload_dependents</c> (a boolean). Other parameters are ignored, as Triton does.
/// </summary>
internal static class RepositoryRequestReader
{
    /// <summary>The index request's <c>ready</c>: list only the models that are ready (false when not given).</summary>
    public static bool ReadIndex(ReadOnlySpan<byte> body) =>
        ReadBoolean(body, ReadObject, "repository index", "ready", "'ready' must be true or false");

    /// <summary>The load parameters; null when the body gives none.</summary>
    public static ModelLoadOverrides? ReadLoad(ReadOnlySpan<byte> body)
    {
        string? config = null;
        var files = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        ReadParameters(body, "load", (ref Utf8JsonReader reader, string name) =>
        {
            if (name == "config")
            {
                config = reader.TokenType == JsonTokenType.String
                    ? reader.GetString()
                    : throw InferenceException.Invalid("load parameter 'config' must be a string holding the model config as JSON");
            }
            else if (name.StartsWith("file:", StringComparison.Ordinal))
            {
                var path = name["file:".Length..];
                if (reader.TokenType != JsonTokenType.String || !reader.TryGetBytesFromBase64(out var bytes))
                {
                    throw InferenceException.Invalid($"load parameter '{name}' must be a string holding the file's contents in base64");
                }
                if (!files.TryAdd(path, bytes))
                {
                    throw InferenceException.Invalid($"load parameter '{name}' is given more than once");
                }
            }
            else
            {
                reader.Skip();
            }
        });
        return config is null && files.Count == 0 ? null : new ModelLoadOverrides(config, files);
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
            ReadProperties(ref reader, handle);
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
            ReadProperties(ref reader, handle);
        }
        catch (JsonException e)
        {
            throw InferenceException.Invalid($"malformed JSON in the {what} request: {e.Message}");
        }
    }

    // The properties of the object the reader is at the start of, each handed over on its value.
    private static void ReadProperties(ref Utf8JsonReader reader, PropertyHandler handle)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            handle(ref reader, name);
        }
    }
}
