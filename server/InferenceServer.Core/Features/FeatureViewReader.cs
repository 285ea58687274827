using InferenceServer.Core.Features.Config;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Features;

/// <summary>
/// Reads a <c>features.pbtxt</c> (protobuf text format, the schema in <c>Features/Protos/features.proto</c>) into a
/// compiled <see cref="FeatureView"/>, by the same descriptor walk that reads config.pbtxt and routing.pbtxt, so its
/// errors read the same way: <c>view/features.pbtxt:line:column: field: reason</c>.
/// </summary>
public static class FeatureViewReader
{
    /// <summary>Parses, checks and compiles the view declared in folder <paramref name="folderName"/>.</summary>
    /// <param name="text">The file's contents.</param>
    /// <param name="folderName">The folder the file is in: the view's name.</param>
    /// <exception cref="FeatureViewException">A syntax error, an unknown field, a wrong value, or a view that cannot encode.</exception>
    public static FeatureView Parse(string text, string folderName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(folderName);
        try
        {
            return Read(text, folderName);
        }
        catch (ModelConfigException e)
        {
            throw new FeatureViewException(e.Message, e);
        }
    }

    /// <summary>
    /// Checks that <paramref name="view"/> feeds <paramref name="config"/>'s model exactly: every output is one of its
    /// inputs with the same data type and width (the batch dimension aside), every input is fed, and the prediction reads
    /// one of its outputs. A mismatch names the view's side and the model's.
    /// </summary>
    /// <exception cref="FeatureViewException">The view does not fit the model.</exception>
    public static void CheckModel(FeatureView view, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(config);
        var file = $"{view.Name}/{FeatureView.FileName}";
        var model = $"model '{config.Name}'";
        foreach (var output in view.Outputs)
        {
            ModelInput? input = null;
            foreach (var candidate in config.Input)
            {
                if (candidate.Name == output.Name)
                {
                    input = candidate;
                }
            }
            var produced = $"output '{output.Name}' ({output.DataType.ProtocolName()}, {output.Width} columns)";
            if (input is null)
            {
                throw new FeatureViewException($"{file}: {produced} feeds no input of {model}, whose inputs are {Names(config.Input)}");
            }
            var declared = $"{model} input '{input.Name}' ({input.DataType.ToTensorType().ConfigName()}, dims [{string.Join(", ", input.Dims)}], max_batch_size {config.MaxBatchSize})";
            if (input.DataType.ToTensorType() != output.DataType)
            {
                throw new FeatureViewException($"{file}: {produced} does not fit {declared}: the data types differ");
            }
            // Batched models leave the batch dimension out of dims; a model without batching writes it, as -1.
            var dims = input.Dims;
            var fits = config.MaxBatchSize > 0
                ? dims.Count == 1 && (dims[0] == output.Width || dims[0] == -1)
                : dims.Count == 2 && dims[0] == -1 && (dims[1] == output.Width || dims[1] == -1);
            if (!fits)
            {
                var expected = config.MaxBatchSize > 0 ? $"[{output.Width}]" : $"[-1, {output.Width}]";
                throw new FeatureViewException($"{file}: {produced} does not fit {declared}: the view writes rows of {output.Width} values, which needs dims {expected}");
            }
        }
        foreach (var input in config.Input)
        {
            var fed = false;
            foreach (var output in view.Outputs)
            {
                fed |= output.Name == input.Name;
            }
            if (!fed)
            {
                throw new FeatureViewException($"{file}: {model} input '{input.Name}' is fed by no output of the view, whose outputs are {Names(view.Outputs)}");
            }
        }
        if (view.Prediction is { } prediction && config.Output.Count > 0)
        {
            var found = false;
            foreach (var output in config.Output)
            {
                found |= output.Name == prediction.Output;
            }
            if (!found)
            {
                throw new FeatureViewException($"{file}: prediction.output '{prediction.Output}' is no output of {model}, whose outputs are {Names(config.Output)}");
            }
        }
    }

    private static string Names<T>(IEnumerable<T> items)
    {
        var names = new List<string>();
        foreach (var item in items)
        {
            names.Add(item switch
            {
                ModelInput i => $"'{i.Name}'",
                ModelOutput o => $"'{o.Name}'",
                FeatureOutput f => $"'{f.Name}'",
                _ => "?",
            });
        }
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    private static FeatureView Read(string text, string folderName)
    {
        var fileName = $"{folderName}/{FeatureView.FileName}";
        var config = new FeatureViewConfig();
        var reader = ConfigTextReader.ReadText(text, fileName, config);
        if (reader.Warnings.Count > 0)
        {
            // A misspelt transform parameter would change every encoded value without a word: refuse it.
            // Each unknown field is named with its own file:line:column already.
            throw new FeatureViewException(ModelConfigWarning.UnknownFieldsError(reader.Warnings, "a feature view refuses fields it does not know"));
        }
        return FeatureViewCompiler.Compile(config, folderName, text, fileName, reader.Positions);
    }
}
