using System.Runtime.InteropServices;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// What one path gave for every row, indexed by the row's entity id (0 to rows − 1): the 58 floats the model received
/// (its <c>features_seen</c> output) and its <c>probability</c>. Compared bit for bit, never with a tolerance.
/// </summary>
internal sealed class ScoredRows(string path, int rows, int width)
{
    private readonly bool[] _seen = new bool[rows];

    /// <summary>Where these came from, for the failure message.</summary>
    public string Path { get; } = path;

    public int Rows { get; } = rows;

    public int Width { get; } = width;

    public float[] Probability { get; } = new float[rows];

    public float[] Features { get; } = new float[rows * width];

    /// <summary>Records row <paramref name="id"/>'s answer; a row seen twice or an id outside the file fails.</summary>
    public void Set(long id, float probability, ReadOnlySpan<float> features)
    {
        Assert.True(id >= 0 && id < Rows, $"{Path}: id {id} is not a row of the file (0 to {Rows - 1})");
        Assert.Equal(Width, features.Length);
        lock (_seen)
        {
            Assert.False(_seen[id], $"{Path}: row {id} answered twice");
            _seen[id] = true;
        }
        Probability[id] = probability;
        features.CopyTo(Features.AsSpan((int)id * Width, Width));
    }

    /// <summary>Fails unless every row has an answer.</summary>
    public void AssertComplete()
    {
        var missing = Array.IndexOf(_seen, false);
        Assert.True(missing < 0, $"{Path}: row {missing} has no answer ({_seen.Count(s => !s)} of {Rows} missing)");
    }

    /// <summary>Fails unless <paramref name="other"/> holds the same bits for every row, naming the first row that differs.</summary>
    public void AssertIdentical(ScoredRows other, bool features = true, bool probabilities = true)
    {
        Assert.Equal(Rows, other.Rows);
        if (features && !MemoryMarshal.AsBytes(Features.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other.Features.AsSpan())))
        {
            var rows = Enumerable.Range(0, Rows).Where(r => !Features.AsSpan(r * Width, Width).SequenceEqual(other.Features.AsSpan(r * Width, Width))).ToArray();
            var first = rows[0];
            var column = Enumerable.Range(0, Width).First(c => BitConverter.SingleToInt32Bits(Features[first * Width + c]) != BitConverter.SingleToInt32Bits(other.Features[first * Width + c]));
            Assert.Fail($"the model's inputs differ between {Path} and {other.Path} in {rows.Length} of {Rows} rows; first row {first}, feature {column}: " +
                $"{Bits(Features[first * Width + column])} vs {Bits(other.Features[first * Width + column])}");
        }
        if (probabilities && !MemoryMarshal.AsBytes(Probability.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other.Probability.AsSpan())))
        {
            var rows = Enumerable.Range(0, Rows).Where(r => BitConverter.SingleToInt32Bits(Probability[r]) != BitConverter.SingleToInt32Bits(other.Probability[r])).ToArray();
            Assert.Fail($"the model's outputs differ between {Path} and {other.Path} in {rows.Length} of {Rows} rows; first row {rows[0]}: " +
                $"{Bits(Probability[rows[0]])} vs {Bits(other.Probability[rows[0]])}");
        }
    }

    private static string Bits(float value) => $"{value:R} (0x{BitConverter.SingleToInt32Bits(value):x8})";
}
