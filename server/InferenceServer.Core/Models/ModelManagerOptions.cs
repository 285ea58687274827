namespace InferenceServer.Core.Models;

/// <summary>Settings of the model manager, bound from configuration (<c>Server</c> section) and the command line.</summary>
public sealed class ModelManagerOptions
{
    /// <summary><c>--model-repository</c>: the folder holding one sub-folder per model.</summary>
    public string ModelRepository { get; set; } = "models";

    /// <summary><c>--model-control-mode</c>.</summary>
    public ModelControlMode ModelControlMode { get; set; } = ModelControlMode.None;

    /// <summary><c>--strict-model-config</c>: refuse models whose config.pbtxt is missing or incomplete instead of completing it from the model file.</summary>
    public bool StrictModelConfig { get; set; }

    /// <summary><c>--load-model</c>: in explicit mode, the models to load at startup.</summary>
    public IList<string> LoadModels { get; set; } = [];

    /// <summary><c>--model-load-thread-count</c>: how many models load at the same time (Triton's default is 4); versions of one model load one after another.</summary>
    public int ModelLoadThreadCount { get; set; } = 4;

    /// <summary><c>--repository-poll-secs</c>: in poll mode, how often the repository is rescanned as the fallback to file-system events (Triton's default is 15); 0: events only.</summary>
    public double RepositoryPollSeconds { get; set; } = 15;

    /// <summary>
    /// <c>--repository-poll-quiet-ms</c>: in poll mode, how long a version folder's files (and config.pbtxt) must stay
    /// unchanged before it counts as completely written and is loaded.
    /// </summary>
    public int RepositoryPollQuietMilliseconds { get; set; } = 2000;

    /// <summary>
    /// <c>--repository-poll-marker</c>: in poll mode, when set, a version folder counts as complete only once it holds a
    /// file of this name (written last by whatever copies models in), instead of by the quiet interval.
    /// </summary>
    public string RepositoryPollMarker { get; set; } = "";

    /// <summary>Where model files uploaded through the repository API are written (a fresh folder per load); the system temp folder when empty.</summary>
    public string UploadDirectory { get; set; } = "";

    /// <summary>The <c>max_batch_size</c> auto-complete gives a model that can batch but whose config says nothing (Triton's default is 4).</summary>
    public int DefaultMaxBatchSize { get; set; } = 4;
}
