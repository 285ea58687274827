using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Experiments;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Reads the body of <c>POST /v2/models/{route}/feedback</c>: <c>{"id": "...", "conversion": true|false}</c> or
/// <c>{"id": "...", "label": number}</c>. Strict, as the inference request's reader is: a key given twice, a value of
/// the wrong type, a key the call does not take, or both outcomes (or neither) is a 400 naming the field, since an
/// outcome silently misread would bias the experiment it feeds.
/// </summary>
internal static class FeedbackRequestReader
{
    private const string Body = "the feedback request";
    private const string Expected = "the feedback body is {\"id\": \"<request id>\", \"conversion\": true|false} or {\"id\": \"<request id>\", \"label\": <number>}";

    /// <summary>The request id the outcome is for, and the outcome.</summary>
    public static (string Id, Outcome Outcome) Read(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            throw InferenceException.Invalid($"{Body} has no body: {Expected}");
        }
        string? id = null;
        Outcome? outcome = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid($"{Body} body must be a JSON object: {Expected}");
            }
            var keys = new JsonKeys(Body);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (keys.Is(ref reader, "id"u8, 0))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String
                        ? JsonText.Read(ref reader, "id")
                        : throw InferenceException.Invalid("'id' must be a string: the id of the request the outcome is for, as its answer gave it");
                }
                else if (keys.Is(ref reader, "conversion"u8, 1))
                {
                    reader.Read();
                    outcome = outcome is null ? Conversion(ref reader) : throw Both();
                }
                else if (keys.Is(ref reader, "label"u8, 2))
                {
                    reader.Read();
                    outcome = outcome is null ? Label(ref reader) : throw Both();
                }
                else
                {
                    var name = keys.Other(ref reader);
                    throw InferenceException.Invalid($"'{name}' is not a key of {Body}: {Expected}");
                }
            }
            // Anything after the object (a second value, stray text) is malformed JSON, which reading on finds.
            reader.Read();
        }
        catch (JsonException e)
        {
            throw InferenceException.Invalid($"malformed JSON in {Body}: {e.Message}");
        }
        if (string.IsNullOrEmpty(id))
        {
            throw InferenceException.Invalid($"'id' is missing or empty: {Expected}");
        }
        return outcome is { } given ? (id, given) : throw InferenceException.Invalid($"{Body} gives no outcome: {Expected}");
    }

    private static Outcome Conversion(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => Outcome.Conversion(true),
        JsonTokenType.False => Outcome.Conversion(false),
        _ => throw InferenceException.Invalid("'conversion' must be true or false"),
    };

    private static Outcome Label(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var value) && double.IsFinite(value)
            ? Outcome.Label(value)
            : throw InferenceException.Invalid("'label' must be a finite number (the true value, e.g. 0 or 1)");

    private static InferenceException Both() =>
        InferenceException.Invalid($"{Body} gives both 'conversion' and 'label'; give one outcome per request");
}
