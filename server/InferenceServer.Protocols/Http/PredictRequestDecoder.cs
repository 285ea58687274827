using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Decodes a predict body: a raw record (<c>{"record": {...}}</c>), an entity (<c>{"entity": {"id": "..."}}</c>), both
/// (one row: the entity's stored values under the record's), or lists of either (<c>records</c>, <c>entities</c>; both
/// lists pair up row by row), with an optional <c>id</c> and <c>parameters</c> as an infer request has them.
/// </summary>
internal static class PredictRequestDecoder
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    /// <summary>The request (no inputs yet) and, in <paramref name="query"/>, its rows; <paramref name="list"/> when they came as lists.</summary>
    public static InferenceRequest Decode(string model, string? version, ReadOnlySpan<byte> json, out FeatureQuery query, out bool list)
    {
        var request = new InferenceRequest { ModelName = model, ModelVersion = version };
        query = new FeatureQuery();
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            list = ReadTopLevel(ref reader, request, query);
            return request;
        }
        catch (JsonException e)
        {
            throw InferenceException.Invalid($"malformed JSON in the request: {e.Message}");
        }
    }

    private static bool ReadTopLevel(ref Utf8JsonReader reader, InferenceRequest request, FeatureQuery query)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.Invalid("the predict body must be a JSON object with a record, an entity, records or entities");
        }
        var keys = new JsonKeys("the request");
        int single = 0, records = -1, entities = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (keys.Is(ref reader, "id"u8, 0))
            {
                reader.Read();
                request.Id = reader.TokenType == JsonTokenType.String ? JsonText.Read(ref reader, "id") : throw InferenceException.Invalid("'id' must be a string");
            }
            else if (keys.Is(ref reader, "parameters"u8, 1))
            {
                reader.Read();
                var binary = false;
                InferRequestDecoder.ReadRequestParameters(ref reader, request, ref binary);
            }
            else if (keys.Is(ref reader, "record"u8, 2) || keys.Is(ref reader, "entity"u8, 3))
            {
                var entity = reader.ValueTextEquals("entity"u8);
                reader.Read();
                if (query.Rows == 0)
                {
                    query.AddRow();
                }
                single++;
                FeatureJson.ReadRow(ref reader, query, 0, entity, entity ? FeatureParameters.Entity : FeatureParameters.Record);
            }
            else if (keys.Is(ref reader, "records"u8, 4) || keys.Is(ref reader, "entities"u8, 5))
            {
                var entity = reader.ValueTextEquals("entities"u8);
                var name = entity ? "entities" : "records";
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw InferenceException.Invalid($"'{name}' must be a JSON array of objects");
                }
                var count = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (query.Rows == count)
                    {
                        query.AddRow();
                    }
                    FeatureJson.ReadRow(ref reader, query, count, entity, new JsonFieldPath(name, count));
                    count++;
                }
                if (count == 0)
                {
                    throw InferenceException.Invalid($"'{name}' is empty: give at least one {(entity ? "entity" : "record")}");
                }
                if (entity)
                {
                    entities = count;
                }
                else
                {
                    records = count;
                }
            }
            else
            {
                var other = keys.Other(ref reader);
                throw InferenceException.Invalid($"'{other}' is not a predict field: give record, entity, records or entities (and optionally id and parameters)");
            }
        }
        if (reader.Read())
        {
            throw InferenceException.Invalid("unexpected data after the JSON request object");
        }
        var lists = records >= 0 || entities >= 0;
        if (single > 0 && lists)
        {
            throw InferenceException.Invalid("give either record/entity (one prediction) or records/entities (a list), not both");
        }
        if (records >= 0 && entities >= 0 && records != entities)
        {
            throw InferenceException.Invalid($"records has {records} rows and entities {entities}; given together they pair up row by row, so their lengths must match");
        }
        if (query.Rows == 0)
        {
            throw InferenceException.Invalid("the predict body has no record, entity, records or entities");
        }
        return lists;
    }
}
