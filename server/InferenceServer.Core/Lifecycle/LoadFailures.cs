using System.Collections.ObjectModel;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Why a load failed, one line per version (or for the model), and whether every failure was a refusal of what the
/// config asks for (<see cref="Models.ModelVersion.ConfigRefused"/>): the repository API answers a load whose own config
/// was refused so with 400 / INVALID_ARGUMENT, and keeps 503 / UNAVAILABLE for the server's and the files' failures.
/// </summary>
internal sealed class LoadFailures(IList<string> reasons, bool configRefused) : ReadOnlyCollection<string>(reasons)
{
    public bool ConfigRefused { get; } = configRefused;
}
