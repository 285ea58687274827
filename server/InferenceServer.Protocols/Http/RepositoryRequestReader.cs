using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Reads the bodies of the repository extension's load and unload requests:
/// <c>{"parameters": {...}}</c>, the body itself optional. Load takes <c>config</c> (a JSON model
/// config, as a string) and <c>file:&lt;version&gt;/&lt;name&gt;</c> (base64 file contents); unload takes
/// <c>unload_dependents</c> (a boolean). Other parameters are ignored, as Triton does.
/// </summary>
internal static class RepositoryRequestReader
{
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
    public static bool ReadUnload(ReadOnlySpan<byte> body)
    {
        var unloadDependents = false;
        ReadParameters(body, "unload", (ref Utf8JsonReader reader, string name) =>
        {
            if (name == "unload_dependents")
            {
                unloadDependents = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw InferenceException.Invalid("unload parameter 'unload_dependents' must be true or false"),
                };
            }
            else
            {
                reader.Skip();
            }
        });
        return unloadDependents;
    }

    private delegate void ParameterHandler(ref Utf8JsonReader reader, string name);

    private static void ReadParameters(ReadOnlySpan<byte> body, string what, ParameterHandler handle)
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
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isParameters = reader.ValueTextEquals("parameters"u8);
                reader.Read();
                if (!isParameters)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw InferenceException.Invalid($"'parameters' of the {what} request must be a JSON object");
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    handle(ref reader, name);
                }
            }
        }
        catch (JsonException e)
        {
            throw InferenceException.Invalid($"malformed JSON in the {what} request: {e.Message}");
        }
    }
}
