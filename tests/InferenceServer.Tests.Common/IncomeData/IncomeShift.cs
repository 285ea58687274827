namespace InferenceServer.Tests.Common.IncomeData;

/// <summary>
/// How far generated records move away from the distribution income was trained on (models/generate.py): what a drift
/// monitor should notice. <see cref="None"/> draws the training distribution itself.
/// </summary>
internal sealed record IncomeShift
{
    /// <summary>The training distribution.</summary>
    public static IncomeShift None { get; } = new();

    /// <summary>
    /// A population that is older, works longer, studied longer and gains more: PSI over deciles of the training
    /// distribution about 0.5 on age, 0.45 on hours and 0.6 on education_num (occupation, which leans on education,
    /// about 0.18).
    /// </summary>
    public static IncomeShift Significant { get; } = new() { AgeYears = 10, HoursPerWeek = 8, EducationTilt = 1.0, CapitalGainRate = 2.5 };

    /// <summary>
    /// Years added to every age before it is clipped to 17–90. Only the age column moves: marital status,
    /// relationship, hours and gains are drawn from the age before the shift, so drift shows on age alone.
    /// </summary>
    public double AgeYears { get; init; }

    /// <summary>Hours added to every week before it is clipped to 1–99; only that column moves.</summary>
    public double HoursPerWeek { get; init; }

    /// <summary>
    /// Leans the education levels by <c>exp(tilt · (education_num − 10) / 3)</c>: positive draws more degrees (and, through
    /// them, more professional occupations), negative fewer.
    /// </summary>
    public double EducationTilt { get; init; }

    /// <summary>The chance of a capital gain, multiplied (the base chance is 5–11 %).</summary>
    public double CapitalGainRate { get; init; } = 1;

    /// <summary>The share of men (the training data has 0.67).</summary>
    public double MaleShare { get; init; } = 0.67;

    /// <summary>The share of records whose workclass and occupation are the data set's unknown, <c>?</c>.</summary>
    public double UnknownShare { get; init; } = 0.056;
}
