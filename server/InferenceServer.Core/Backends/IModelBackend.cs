namespace InferenceServer.Core.Backends;

/// <summary>
/// A runtime that can execute a kind of model file (ONNX Runtime for model.onnx, LibTorch for TorchScript model.pt).
/// The protocols never see a backend: they reach models through the front door.
/// </summary>
public interface IModelBackend
{
    /// <summary>The config <c>backend</c> name this runtime answers to, e.g. <c>onnxruntime</c>.</summary>
    string Name { get; }

    /// <summary>The config <c>platform</c> name this runtime answers to, e.g. <c>onnxruntime_onnx</c>.</summary>
    string Platform { get; }

    /// <summary>The file a version folder holds when the config names none, e.g. <c>model.onnx</c>.</summary>
    string DefaultModelFilename { get; }

    /// <summary>
    /// Whether the runtime's string tensors (BYTES) hold UTF-8 text. When they do, a request with a BYTES element that
    /// is not UTF-8 is refused as invalid before it is scheduled, where it would otherwise fail in the runtime, and fail
    /// every request batched with it. False by default: BYTES are bytes.
    /// </summary>
    bool TextStrings => false;

    /// <summary>
    /// Creates one execution instance of the model at <see cref="InstanceOptions.ModelPath"/>.
    /// Throws <see cref="BackendException"/> with the runtime's reason when the file cannot be loaded.
    /// </summary>
    IModelInstance CreateInstance(InstanceOptions options);

    /// <summary>
    /// The runtime behind this backend, for the server metadata and the startup log. May load the
    /// runtime's native library; never throws (a runtime that cannot load says why in its version).
    /// Defaults to the backend's name alone, so test doubles need not describe themselves.
    /// </summary>
    BackendRuntime Runtime => new(Name, Name, "", "");

    /// <summary>
    /// The GPU ordinals this backend can place instances on, for a KIND_GPU instance group that lists
    /// no <c>gpus</c> (Triton then uses every visible GPU); empty when it runs on CPU only.
    /// </summary>
    IReadOnlyList<int> GpuDevices => [];

    /// <summary>
    /// Makes quantized variants of this backend's model files (int8, fp16), for the <c>quantize</c> command and a config's
    /// <c>quantize</c> parameter; null when the backend cannot.
    /// </summary>
    Quantization.IModelQuantizer? Quantizer => null;
}
