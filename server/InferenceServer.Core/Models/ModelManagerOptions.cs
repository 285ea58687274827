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

    /// <summary>The <c>max_batch_size</c> auto-complete gives a model that can batch but whose config says nothing (Triton's default is 4).</summary>
    public int DefaultMaxBatchSize { get; set; } = 4;
}
