using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Turns ONNX Runtime's errors into <see cref="BackendException"/>s that carry its code by the C
/// API's name (<c>INVALID_ARGUMENT</c>, <c>NO_SUCHFILE</c>, ...) and its message, with no server path in it;
/// INVALID_ARGUMENT (a shape or value the model refuses) is the request's fault, every other code the server's.
/// </summary>
/// <remarks>
/// The managed API reports the code only inside the message, as <c>[ErrorCode:Name] text</c>, and
/// its names stop at code 12 and differ from the C API's from code 11 on (its 11 and 12 are the C
/// API's EP_FAIL and MODEL_LOAD_CANCELED), so the name is mapped here by its position in that enum.
/// </remarks>
internal static partial class OrtErrors
{
    private const string Prefix = "[ErrorCode:";

    private const InferenceErrorKind Server = InferenceErrorKind.Internal;

    // The managed enum's names in order, with the C API name of the same numeric code and how a request meeting it is answered.
    private static readonly (string Managed, string Code, InferenceErrorKind Kind)[] Codes =
    [
        ("Ok", "OK", Server), ("Fail", "FAIL", Server), ("InvalidArgument", "INVALID_ARGUMENT", InferenceErrorKind.InvalidArgument),
        ("NoSuchFile", "NO_SUCHFILE", Server), ("NoModel", "NO_MODEL", Server), ("EngineError", "ENGINE_ERROR", Server),
        ("RuntimeException", "RUNTIME_EXCEPTION", Server), ("InvalidProtobuf", "INVALID_PROTOBUF", Server), ("ModelLoaded", "MODEL_LOADED", Server),
        ("NotImplemented", "NOT_IMPLEMENTED", Server), ("InvalidGraph", "INVALID_GRAPH", Server), ("ShapeInferenceNotRegistered", "EP_FAIL", Server),
        ("RequirementNotRegistered", "MODEL_LOAD_CANCELED", Server),
    ];

    // What text without a recognisable code is reported as.
    private const int FailIndex = 1;

    /// <summary>
    /// <paramref name="context"/> says what was being done; <paramref name="modelPath"/>, when given, is
    /// replaced in ONNX Runtime's text by the file's place in its model folder (e.g. <c>1/model.onnx</c>).
    /// </summary>
    public static BackendException Translate(OnnxRuntimeException error, string context, string? modelPath = null)
    {
        var (index, message) = Find(error.Message);
        var (_, code, kind) = Codes[index];
        return new BackendException($"{context}: {HidePaths(message, modelPath)}", kind, code, error);
    }

    /// <summary>The managed API throws this when ONNX Runtime returns a code it has no name for (13 and up).</summary>
    public static BackendException Unnamed(KeyNotFoundException error, string context) =>
        new($"{context}: ONNX Runtime reported an error with a code this binding cannot name", code: "FAIL", inner: error);

    internal static (string Code, string Message) Split(string text)
    {
        var (index, message) = Find(text);
        return (Codes[index].Code, message);
    }

    /// <summary>The entry of <see cref="Codes"/> that <paramref name="text"/> names, and the text without the code.</summary>
    private static (int Index, string Message) Find(string text)
    {
        if (text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var end = text.IndexOf(']', Prefix.Length);
            if (end > 0)
            {
                var name = text.AsSpan(Prefix.Length, end - Prefix.Length);
                for (var i = 0; i < Codes.Length; i++)
                {
                    if (name.SequenceEqual(Codes[i].Managed))
                    {
                        return (i, text.AsSpan(end + 1).TrimStart().ToString());
                    }
                }
            }
        }
        return (FailIndex, text);
    }

    /// <summary>
    /// Replaces the model folder's absolute path in <paramref name="message"/> by nothing, so files read as
    /// <c>1/model.onnx</c>, and any other quoted absolute path by a phrase: ONNX Runtime quotes where a file it refused
    /// resolved to (weights in an external data file linked from elsewhere), and a client must not learn the server's
    /// file system from a reason.
    /// </summary>
    internal static string HidePaths(string message, string? modelPath)
    {
        if (!string.IsNullOrEmpty(modelPath))
        {
            var modelFolder = Path.GetDirectoryName(Path.GetDirectoryName(modelPath));
            message = string.IsNullOrEmpty(modelFolder)
                ? message.Replace(modelPath, Path.GetFileName(modelPath), StringComparison.Ordinal)
                : message.Replace(modelFolder + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
                    .Replace(modelFolder, ".", StringComparison.Ordinal);
        }
        return QuotedAbsolutePath().Replace(message, "\"(a path outside the model folder)\"");
    }

    [GeneratedRegex("\"/[^\"]*\"")]
    private static partial Regex QuotedAbsolutePath();
}
