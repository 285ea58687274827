namespace InferenceServer.Core.Repository;
// TEMPORARY stub until the parser branch merges.
public static class ModelConfigJson
{
    public static void Write(System.Text.Json.Utf8JsonWriter writer, ModelConfig config) { writer.WriteStartObject(); writer.WriteString("name", config.Name); writer.WriteEndObject(); }
}
