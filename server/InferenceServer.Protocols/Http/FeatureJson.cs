using System.Globalization;
using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Reads the JSON objects that ask a feature view for a model's inputs: an entity (<c>{"id": "..."}</c>) or a raw
/// record (<c>{"age": 52, "workclass": "Private"}</c>), whose values are strings, numbers or booleans; null is a value
/// left out (the view's default, or the store's, applies).
/// </summary>
internal static class FeatureJson
{
    /// <summary>
    /// Reads the object the reader is on (parameter <paramref name="name"/>, <c>entity</c> or <c>record</c>) into the
    /// request's flattened parameters: <c>entity.id</c>, <c>record.age</c>, as text (a number as written).
    /// </summary>
    public static void ReadParameter(ref Utf8JsonReader reader, string name, InferenceRequest request)
    {
        var owner = "parameters." + name;
        var prefix = name + ".";
        var keys = new JsonKeys(owner);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = keys.Other(ref reader);
            reader.Read();
            switch (reader.TokenType)
            {
                case JsonTokenType.Null:
                    break;
                case JsonTokenType.Number:
                    request.SetParameter(prefix + key, System.Text.Encoding.UTF8.GetString(reader.ValueSpan));
                    break;
                default:
                    request.SetParameter(prefix + key, Text(ref reader, owner, key));
                    break;
            }
        }
    }

    /// <summary>
    /// Reads the object the reader is on, at <paramref name="owner"/>, into row <paramref name="row"/> of
    /// <paramref name="query"/>: an entity's key values when <paramref name="entity"/>, else a record's fields.
    /// </summary>
    public static void ReadRow(ref Utf8JsonReader reader, FeatureQuery query, int row, bool entity, JsonFieldPath owner)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.Invalid($"{owner} must be a JSON object of {(entity ? "the entity's key values" : "the record's fields")}");
        }
        var keys = new JsonKeys(owner);
        var values = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = keys.Other(ref reader);
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            values++;
            if (entity)
            {
                query.AddEntityValue(row, key, reader.TokenType == JsonTokenType.Number ? System.Text.Encoding.UTF8.GetString(reader.ValueSpan) : Text(ref reader, owner, key));
            }
            else if (reader.TokenType == JsonTokenType.Number)
            {
                query.AddNumber(row, key, reader.TryGetDouble(out var number) && double.IsFinite(number)
                    ? number
                    : throw InferenceException.Invalid($"{owner}.{key} is not a finite number"));
            }
            else
            {
                query.AddText(row, key, Text(ref reader, owner, key));
            }
        }
        if (values == 0)
        {
            throw InferenceException.Invalid($"{owner} is empty: give {(entity ? "the entity's key values" : "the record's fields")}");
        }
    }

    private static string Text(ref Utf8JsonReader reader, JsonFieldPath owner, string key) => reader.TokenType switch
    {
        JsonTokenType.String => JsonText.TryRead(ref reader, out var text) ? text : throw JsonText.NotText($"{owner}.{key}"),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => throw InferenceException.Invalid($"{owner}.{key} must be a string, a number, true or false (or null when it is missing), not {Kind(reader.TokenType)}"),
    };

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => token.ToString().ToLower(CultureInfo.InvariantCulture),
    };
}
