using System.Globalization;
using System.Text;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>Evaluation files for income's model input (58 encoded features per row), seeded, with a label column.</summary>
internal static class QuantizeFiles
{
    /// <summary>Writes <paramref name="rows"/> rows of <c>features</c> (a JSON list of 58 numbers) and <c>label</c> (0/1) as JSONL.</summary>
    public static string IncomeFeatures(string path, int rows, int seed = 3)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var r = 0; r < rows; r++)
        {
            var values = new string[58];
            var sum = 0.0;
            for (var i = 0; i < values.Length; i++)
            {
                // Standardized numbers for the first few, one-hot-like 0/1 for the rest, as income's view encodes records.
                var value = i < 6 ? random.NextDouble() * 3 - 1.5 : random.Next(4) == 0 ? 1 : 0;
                sum += i < 6 ? value : 0;
                values[i] = value.ToString("R", CultureInfo.InvariantCulture);
            }
            text.Append(CultureInfo.InvariantCulture, $"{{\"features\":[{string.Join(',', values)}],\"label\":{(sum > 0 ? 1 : 0)}}}\n");
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>Copies income's config and model file (version 1, FP32) into <paramref name="repository"/>.</summary>
    public static void CopyIncome(string repository)
    {
        Directory.CreateDirectory(Path.Combine(repository, "income", "1"));
        File.Copy(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt"), Path.Combine(repository, "income", "config.pbtxt"));
        File.Copy(Path.Combine(RepositoryPaths.Models, "income", "1", "model.onnx"), Path.Combine(repository, "income", "1", "model.onnx"));
    }

    /// <summary>income's folder under <paramref name="repository"/> with <paramref name="parameters"/> added to its config.</summary>
    public static void AddParameters(string repository, params (string Key, string Value)[] parameters)
    {
        var config = Path.Combine(repository, "income", "config.pbtxt");
        var text = new StringBuilder(File.ReadAllText(config));
        foreach (var (key, value) in parameters)
        {
            text.Append(CultureInfo.InvariantCulture, $"parameters {{ key: \"{key}\" value {{ string_value: \"{value}\" }} }}\n");
        }
        File.WriteAllText(config, text.ToString());
    }
}
