using System.Globalization;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// How much the fuzz suite runs, from the environment: <c>FUZZ_SEED</c> (a whole number; <c>random</c> picks one and
/// prints it; CI leaves it unset for the fixed seed), <c>FUZZ_CASES</c> (cases per target; unset: each target's CI
/// budget) and <c>FUZZ_TIMEOUT_MS</c> (how long one request may go unanswered before it counts as a hang).
/// </summary>
internal sealed class FuzzSettings
{
    /// <summary>The seed CI runs with, so a failure there reproduces anywhere.</summary>
    public const int FixedSeed = 20261203;

    private FuzzSettings(int seed, int? cases, TimeSpan timeout)
    {
        Seed = seed;
        Cases = cases;
        Timeout = timeout;
    }

    public int Seed { get; }

    /// <summary>Cases per target when FUZZ_CASES is set; null: each target's own CI budget.</summary>
    public int? Cases { get; }

    public TimeSpan Timeout { get; }

    public static FuzzSettings FromEnvironment()
    {
        var seedText = Environment.GetEnvironmentVariable("FUZZ_SEED");
        var seed = string.IsNullOrEmpty(seedText) ? FixedSeed
            : seedText == "random" ? Random.Shared.Next()
            : int.TryParse(seedText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s
            : throw new ArgumentException($"FUZZ_SEED '{seedText}' is not valid; expected a whole number or 'random'");
        var casesText = Environment.GetEnvironmentVariable("FUZZ_CASES");
        int? cases = string.IsNullOrEmpty(casesText) ? null
            : int.TryParse(casesText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var c) && c > 0 ? c
            : throw new ArgumentException($"FUZZ_CASES '{casesText}' is not valid; expected a whole number above 0");
        var timeoutText = Environment.GetEnvironmentVariable("FUZZ_TIMEOUT_MS");
        var timeout = string.IsNullOrEmpty(timeoutText) ? TimeSpan.FromSeconds(10)
            : int.TryParse(timeoutText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) && t > 0 ? TimeSpan.FromMilliseconds(t)
            : throw new ArgumentException($"FUZZ_TIMEOUT_MS '{timeoutText}' is not valid; expected milliseconds above 0");
        return new FuzzSettings(seed, cases, timeout);
    }

    /// <summary>The cases to run for a target whose CI budget is <paramref name="ciBudget"/>.</summary>
    public int CasesFor(int ciBudget) => Cases ?? ciBudget;

    /// <summary>
    /// The random source of one case: a function of the seed, the target and the case index only, so any one case is
    /// rebuilt from those three without running the cases before it.
    /// </summary>
    public Random CaseRandom(string target, int index)
    {
        // FNV-1a: string.GetHashCode is randomized per process.
        var hash = 2166136261u;
        foreach (var c in target)
        {
            hash = (hash ^ c) * 16777619u;
        }
        // SplitMix64's finalizer over the three (HashCode.Combine is randomized per process too).
        var mixed = ((ulong)(uint)Seed << 32 | hash) ^ (ulong)index * 0x9E3779B97F4A7C15ul;
        mixed = (mixed ^ mixed >> 30) * 0xBF58476D1CE4E5B9ul;
        mixed = (mixed ^ mixed >> 27) * 0x94D049BB133111EBul;
        mixed ^= mixed >> 31;
        return new Random((int)(mixed & int.MaxValue));
    }
}
