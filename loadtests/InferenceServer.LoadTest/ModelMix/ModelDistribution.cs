using System.Globalization;
using InferenceServer.LoadTest.Cli;

namespace InferenceServer.LoadTest.ModelMix;

/// <summary>
/// How requests spread over the models of a multi-model run: <c>uniform</c>, or <c>zipf:s</c>, where the model ranked k
/// (the k-th listed) gets a share proportional to 1/k^s — the long tail of a server with many mostly idle models.
/// </summary>
internal sealed record ModelDistribution(double Exponent)
{
    public static ModelDistribution Uniform { get; } = new(0);

    /// <summary>Parses <c>uniform</c> or <c>zipf:S</c> with S above 0 (1.1 is the usual figure for web and model traffic).</summary>
    public static ModelDistribution Parse(string text, string flag)
    {
        if (text.Equals("uniform", StringComparison.OrdinalIgnoreCase))
        {
            return Uniform;
        }
        const string Zipf = "zipf:";
        if (text.StartsWith(Zipf, StringComparison.OrdinalIgnoreCase)
            && double.TryParse(text.AsSpan(Zipf.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 10)
        {
            return new ModelDistribution(s);
        }
        throw new UsageException($"{flag}: '{text}' is not uniform or zipf:S with S from above 0 to 10 (e.g. zipf:1.1)");
    }

    /// <summary>The share of the model ranked <paramref name="rank"/> (0-based), before normalizing over the list.</summary>
    public double Weight(int rank) => Exponent == 0 ? 1 : Math.Pow(rank + 1, -Exponent);

    public override string ToString() => Exponent == 0 ? "uniform" : "zipf:" + Exponent.ToString("0.###", CultureInfo.InvariantCulture);
}
