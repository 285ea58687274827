namespace InferenceServer.Protocols.Access;

/// <summary>
/// What a credential may call: a scope covers one or more endpoint categories (<see cref="ApiCategory"/>), so a token
/// names six coarse permissions rather than Triton's nine groups. Categories the server does not implement (shared
/// memory, trace, logging) go with the scope a client of that kind would hold.
/// </summary>
public sealed class ApiScope
{
    /// <summary>Liveness and readiness (<c>health</c>).</summary>
    public static readonly ApiScope Health = new(0, "health", [ApiCategory.Health]);

    /// <summary>Server and model metadata, model configuration, reflection.</summary>
    public static readonly ApiScope Metadata = new(1, "metadata", [ApiCategory.Metadata, ApiCategory.ModelConfig]);

    /// <summary>Inference (and the shared-memory and generate extensions, which serve inference).</summary>
    public static readonly ApiScope Infer = new(2, "infer", [ApiCategory.Inference, ApiCategory.SharedMemory]);

    /// <summary>The repository API: index, load (which can load any model file), unload.</summary>
    public static readonly ApiScope Repository = new(3, "repository", [ApiCategory.ModelRepository]);

    /// <summary>Statistics (and the trace and logging extensions, which observe the server).</summary>
    public static readonly ApiScope Statistics = new(4, "statistics", [ApiCategory.Statistics, ApiCategory.Trace, ApiCategory.Logging]);

    /// <summary><c>/metrics</c> on the metrics port.</summary>
    public static readonly ApiScope Metrics = new(5, "metrics", [ApiCategory.Metrics]);

    /// <summary>Every scope, in the order the startup log lists them.</summary>
    public static IReadOnlyList<ApiScope> All { get; } = [Health, Metadata, Infer, Statistics, Metrics, Repository];

    /// <summary>The spelling of "every scope" in a credential's scope list.</summary>
    public const string Every = "*";

    private ApiScope(int index, string name, ApiCategory[] categories)
    {
        Name = name;
        Categories = categories;
        Bit = 1 << index;
    }

    /// <summary>The name credentials and settings use, e.g. <c>infer</c>.</summary>
    public string Name { get; }

    /// <summary>The endpoint categories this scope opens.</summary>
    public IReadOnlyList<ApiCategory> Categories { get; }

    /// <summary>This scope's bit in a <see cref="ApiScopes"/> set.</summary>
    internal int Bit { get; }

    /// <summary>The scope that covers <paramref name="category"/>; every category has one.</summary>
    public static ApiScope Of(ApiCategory category)
    {
        foreach (var scope in All)
        {
            foreach (var covered in scope.Categories)
            {
                if (covered == category)
                {
                    return scope;
                }
            }
        }
        throw new ArgumentOutOfRangeException(nameof(category), category.Name, "a category without a scope");
    }

    /// <summary>The scope named <paramref name="name"/> (exact spelling); null when none is.</summary>
    public static ApiScope? Find(string name)
    {
        foreach (var scope in All)
        {
            if (scope.Name == name)
            {
                return scope;
            }
        }
        return null;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
