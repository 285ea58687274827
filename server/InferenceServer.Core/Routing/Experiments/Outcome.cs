using System.Globalization;
using InferenceServer.Core.Inference;

namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// What happened after a request was answered, as a client reports it: a binary conversion (the user bought or did
/// not) or a numeric label (the true value the model was predicting). Either kind is positive or not, so every outcome
/// counts towards a variant's conversion rate; a label also counts towards its mean and its accuracy.
/// </summary>
public readonly struct Outcome
{
    /// <summary>A label at or above it is positive (a conversion; the class 1 an accuracy compares with).</summary>
    public const double PositiveLabel = 0.5;

    private Outcome(bool isLabel, double value)
    {
        IsLabel = isLabel;
        Value = value;
    }

    /// <summary>True for a numeric label, false for a conversion.</summary>
    public bool IsLabel { get; }

    /// <summary>The label; for a conversion 1 (converted) or 0.</summary>
    public double Value { get; }

    /// <summary>A conversion, or a label of at least <see cref="PositiveLabel"/>.</summary>
    public bool Positive => Value >= PositiveLabel;

    /// <summary>A binary outcome: the request converted or it did not.</summary>
    public static Outcome Conversion(bool converted) => new(isLabel: false, converted ? 1 : 0);

    /// <summary>A numeric label.</summary>
    /// <exception cref="InferenceException">The label is not a finite number (NaN or an infinity).</exception>
    public static Outcome Label(double value)
    {
        if (!double.IsFinite(value))
        {
            throw InferenceException.Invalid(
                $"outcome label {value.ToString(CultureInfo.InvariantCulture)} is not a number an experiment can average: give a finite value");
        }
        return new Outcome(isLabel: true, value);
    }
}
