using Google.Protobuf;
using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// Reads and writes an ONNX model file. Weights kept in external data files beside the model are read into the model,
/// so the variant written is one self-contained file.
/// </summary>
internal static class OnnxModelFile
{
    // Protobuf cannot serialize a message of 2 GiB or more; such a model needs external data on write, which we do not make.
    private const long MaxInlineBytes = int.MaxValue;

    /// <summary>Reads a model file, with the data of any external-data tensors read into the model.</summary>
    public static ModelProto Read(string path)
    {
        var name = Path.GetFileName(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuantizationException($"the model file '{name}' cannot be read: {Why(e)}", e);
        }

        var model = Parse(bytes, name);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var tensor in OnnxGraphWalk.Tensors(model))
        {
            if (tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                ReadExternalData(tensor, directory, name);
            }
        }
        return model;
    }

    /// <summary>Parses a model's bytes as they are, external-data references included.</summary>
    public static ModelProto Parse(byte[] bytes, string name)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new QuantizationException($"'{name}' is not an ONNX model: its bytes do not parse as an ONNX ModelProto ({e.Message})", e);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new QuantizationException($"'{name}' is not an ONNX model with a graph: it has no nodes to quantize");
        }
        return model;
    }

    public static void Write(ModelProto model, string path)
    {
        var size = model.CalculateSize();
        if (size >= MaxInlineBytes)
        {
            throw new QuantizationException($"the variant would be {size} bytes; a single ONNX file must stay under 2 GiB");
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        // Written beside the target and moved into place, so a reader never sees half a file.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = File.Create(temporary))
            {
                model.WriteTo(stream);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw new QuantizationException($"the variant '{Path.GetFileName(path)}' cannot be written: {Why(e)}", e);
        }
    }

    private static void ReadExternalData(TensorProto tensor, string directory, string modelName)
    {
        string? location = null;
        long offset = 0;
        long length = -1;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset" when long.TryParse(entry.Value, out var parsed):
                    offset = parsed;
                    break;
                case "length" when long.TryParse(entry.Value, out var parsed):
                    length = parsed;
                    break;
            }
        }
        var what = $"tensor '{tensor.Name}' of '{modelName}' keeps its data in an external file";
        if (string.IsNullOrEmpty(location))
        {
            throw new QuantizationException($"{what} but does not say which (no 'location' entry)");
        }
        // The ONNX rule: a location is relative to the model's folder and may not leave it.
        var full = Path.GetFullPath(Path.Combine(directory, location));
        if (Path.IsPathRooted(location) || !full.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new QuantizationException($"{what} '{location}' outside the model's folder; expected a path relative to the folder");
        }
        try
        {
            // A symbolic link beside the model may point anywhere; the file it ends at must be inside the folder too.
            var target = File.Exists(full) ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName : null;
            if (target is not null && !target.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new QuantizationException($"{what} '{location}', a link to a file outside the model's folder; expected a file inside it");
            }
            using var file = File.OpenRead(full);
            if (length < 0)
            {
                length = file.Length - offset;
            }
            if (offset < 0 || length < 0 || offset + length > file.Length || length > MaxInlineBytes)
            {
                throw new QuantizationException(
                    $"{what} '{location}' at offset {offset}, length {length}, but that file has {file.Length} bytes");
            }
            var data = new byte[length];
            file.Position = offset;
            file.ReadExactly(data);
            tensor.RawData = ByteString.CopyFrom(data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuantizationException($"{what} '{location}' that cannot be read: {Why(e)}", e);
        }
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
    }

    // The reason without the exception's own message, which names the full server path.
    private static string Why(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "it does not exist",
        UnauthorizedAccessException => "permission denied",
        _ => "an input/output error",
    };
}
