using System.Buffers.Binary;
using InferenceServer.Core.Features;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The columns of every output row, in order: the key columns (as the input wrote them, text), the prediction columns
/// (typed as the model's outputs), the view's label when it declares one, then the model's name and version.
/// </summary>
internal sealed class OutputSchema
{
    /// <summary>The column that names the model.</summary>
    public const string ModelColumn = "model";

    /// <summary>The column that names the version that scored the row.</summary>
    public const string VersionColumn = "model_version";

    /// <summary>The column of the view's label, when it declares one.</summary>
    public const string LabelColumn = "label";

    public OutputSchema(string model, IReadOnlyList<string> keys, ModelConfig config, FeaturePrediction? prediction)
    {
        Model = model;
        Keys = keys;
        var outputs = new List<string>();
        var columns = new List<OutputColumn>();
        foreach (var output in config.Output)
        {
            var type = output.DataType.ToTensorType();
            if (type is DataType.Bytes or DataType.Invalid or DataType.Bf16)
            {
                // Text outputs have no column type here; they are not asked for.
                continue;
            }
            var dims = output.Dims.ToArray();
            if (config.MaxBatchSize == 0 && dims.Length > 0)
            {
                dims = dims[1..];
            }
            var width = 1;
            foreach (var dim in dims)
            {
                if (dim < 0)
                {
                    throw new ScoreException($"model '{config.Name}' output '{output.Name}' has a variable dimension (dims [{string.Join(", ", output.Dims)}]): batch scoring writes fixed-width outputs");
                }
                width = checked(width * (int)dim);
            }
            var index = outputs.Count;
            outputs.Add(output.Name);
            for (var e = 0; e < width; e++)
            {
                columns.Add(new OutputColumn(width == 1 ? output.Name : $"{output.Name}_{e}", index, e, width, type));
            }
            if (prediction is not null && output.Name == prediction.Output)
            {
                LabelOutput = index;
            }
        }
        if (outputs.Count == 0)
        {
            throw new ScoreException($"model '{config.Name}' has no numeric output to write");
        }
        Outputs = outputs;
        Predictions = columns;
        Prediction = LabelOutput >= 0 ? prediction : null;
        foreach (var key in keys)
        {
            foreach (var column in columns)
            {
                if (column.Name == key || key is ModelColumn or VersionColumn || (Prediction is not null && key == LabelColumn))
                {
                    throw new ScoreException($"key column '{key}' has the name of an output column; rename it in the input or leave it out of --key-columns");
                }
            }
        }
    }

    public string Model { get; }

    public IReadOnlyList<string> Keys { get; }

    /// <summary>The model outputs asked for, in the order the response gives them.</summary>
    public IReadOnlyList<string> Outputs { get; }

    public IReadOnlyList<OutputColumn> Predictions { get; }

    /// <summary>The view's labels, when it declares them and the model has its output; else null.</summary>
    public FeaturePrediction? Prediction { get; }

    private int LabelOutput { get; } = -1;

    /// <summary>Every column name, in output order.</summary>
    public IReadOnlyList<string> ColumnNames()
    {
        var names = new List<string>(Keys);
        foreach (var column in Predictions)
        {
            names.Add(column.Name);
        }
        if (Prediction is not null)
        {
            names.Add(LabelColumn);
        }
        names.Add(ModelColumn);
        names.Add(VersionColumn);
        return names;
    }

    /// <summary>The label of row <paramref name="row"/>: its first value of the prediction output, against the threshold.</summary>
    public string Label(ScoredBatch batch, int row)
    {
        var tensor = batch.Outputs[LabelOutput];
        var width = (int)(tensor.ElementCount / Math.Max(1, batch.Count));
        return Prediction!.Label(Value(batch, LabelOutput, tensor.DataType, row * width));
    }

    /// <summary>The value of prediction <paramref name="column"/> in row <paramref name="row"/>, widened to double.</summary>
    public static double Value(ScoredBatch batch, OutputColumn column, int row) =>
        Value(batch, column.Output, column.Type, row * column.Width + column.Element);

    private static double Value(ScoredBatch batch, int output, DataType type, int element)
    {
        var data = batch.Outputs[output].Data;
        var size = type.ElementSize();
        var bytes = data.Slice(element * size, size);
        return type switch
        {
            DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
            DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(bytes),
            DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(bytes),
            DataType.Int8 => (sbyte)bytes[0],
            DataType.UInt8 or DataType.Bool => bytes[0],
            DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes),
            DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
            DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
            DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
            DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        };
    }
}
