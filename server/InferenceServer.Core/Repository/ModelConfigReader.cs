namespace InferenceServer.Core.Repository;
// TEMPORARY stub until the parser branch merges.
public static class ModelConfigReader
{
    public static ModelConfigReadResult ReadFile(string path) => throw new ModelConfigException(path);
}
public sealed record ModelConfigReadResult(ModelConfig Config, IReadOnlyList<string> Warnings);
public sealed class ModelConfigException(string m) : Exception(m);
