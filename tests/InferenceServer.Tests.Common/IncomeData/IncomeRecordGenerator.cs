namespace InferenceServer.Tests.Common.IncomeData;

/// <summary>
/// Draws UCI-Adult-style raw records for income's feature view (models/income/features.pbtxt): the distributions and
/// dependencies of <c>synth_records</c> in models/generate.py (education leans occupation, age leans marital status,
/// marital status and sex decide the relationship, hours and capital gains follow work, age and education), plus the
/// real data set's unknown <c>?</c> for workclass and occupation, which the view encodes as an all-zero group.
/// Deterministic: the same seed and shift give the same records, row for row, however the rows are split into blocks;
/// and a shift of age or hours only (<see cref="IncomeShift.AgeYears"/>, <see cref="IncomeShift.HoursPerWeek"/>) gives
/// the same seed's records with that column moved and every other column as it was.
/// The weight tables that depend on another field are built once, so a row costs a few draws and table searches.
/// </summary>
internal sealed class IncomeRecordGenerator
{
    /// <summary>The columns of a generated file, in order: the entity key, then the view's fields.</summary>
    public static readonly string[] Columns =
        ["id", "age", "education_num", "hours_per_week", "capital_gain", "capital_loss",
         "workclass", "education", "marital_status", "occupation", "relationship", "sex"];

    /// <summary>The numeric fields (whole numbers, as in the data set).</summary>
    public static readonly string[] NumericFields = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"];

    /// <summary>The categorical fields.</summary>
    public static readonly string[] TextFields = ["workclass", "education", "marital_status", "occupation", "relationship", "sex"];

    private const string Unknown = "?";
    private const int MinAge = 17;
    private const int MaxAge = 90;

    private static readonly string[] WorkclassNames =
        ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov", "Without-pay", "Never-worked"];
    private static readonly double[] WorkclassWeights = [70, 8, 3.5, 3, 6.5, 4, 0.3, 0.2];

    private static readonly string[] EducationNames =
        ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad", "Some-college", "Assoc-voc",
         "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate"];
    private static readonly double[] EducationWeights = [0.2, 0.5, 1.0, 2.0, 1.6, 2.9, 3.6, 1.3, 32.3, 22.4, 4.2, 3.3, 16.4, 5.3, 1.8, 1.3];

    private static readonly string[] MaritalNames =
        ["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed", "Married-spouse-absent", "Married-AF-spouse"];
    private static readonly double[] MaritalWeights = [46, 33, 13.6, 3.1, 3.0, 1.3, 0.1];

    private static readonly string[] OccupationNames =
        ["Prof-specialty", "Craft-repair", "Exec-managerial", "Adm-clerical", "Sales", "Other-service", "Machine-op-inspct",
         "Transport-moving", "Handlers-cleaners", "Farming-fishing", "Tech-support", "Protective-serv", "Priv-house-serv", "Armed-Forces"];
    private static readonly double[] OccupationWeights = [13, 13, 13, 12, 11, 10, 6, 5, 4, 3, 3, 2, 0.5, 0.1];
    private static readonly string[] SkilledOccupations = ["Prof-specialty", "Exec-managerial", "Tech-support"];
    private static readonly string[] ManualOccupations =
        ["Handlers-cleaners", "Other-service", "Machine-op-inspct", "Farming-fishing", "Priv-house-serv", "Craft-repair", "Transport-moving"];

    private static readonly string[] RelationshipNames = ["Husband", "Wife", "Own-child", "Not-in-family", "Other-relative", "Unmarried"];
    // The relationship of someone neither married nor a young person's child: Not-in-family, Other-relative, Unmarried.
    private static readonly double[] UnattachedWeights = [0.6, 0.1, 0.3];

    private readonly Random _random;
    private readonly IncomeShift _shift;
    private readonly double[] _workclass = Cumulative(WorkclassWeights);
    private readonly double[] _education;
    private readonly double[] _unattached = Cumulative(UnattachedWeights);
    // One occupation table per education level, one marital table per age.
    private readonly double[][] _occupationByEducation;
    private readonly double[][] _maritalByAge;
    private long _nextId;

    public IncomeRecordGenerator(int seed, IncomeShift? shift = null)
    {
        _random = new Random(seed);
        _shift = shift ?? IncomeShift.None;
        var education = new double[EducationWeights.Length];
        for (var e = 0; e < education.Length; e++)
        {
            education[e] = EducationWeights[e] * Math.Exp(_shift.EducationTilt * (e + 1 - 10.0) / 3.0);
        }
        _education = Cumulative(education);

        _occupationByEducation = new double[EducationNames.Length][];
        for (var e = 0; e < EducationNames.Length; e++)
        {
            var tilt = (e + 1 - 10.0) / 3.0;
            var weights = new double[OccupationWeights.Length];
            for (var o = 0; o < weights.Length; o++)
            {
                var lean = SkilledOccupations.Contains(OccupationNames[o]) ? 1.2 * tilt : ManualOccupations.Contains(OccupationNames[o]) ? -0.8 * tilt : 0;
                weights[o] = OccupationWeights[o] * Math.Exp(lean);
            }
            _occupationByEducation[e] = Cumulative(weights);
        }

        _maritalByAge = new double[MaxAge - MinAge + 1][];
        for (var age = MinAge; age <= MaxAge; age++)
        {
            var young = Math.Clamp((35.0 - age) / 12.0, -1.5, 1.5);
            var weights = (double[])MaritalWeights.Clone();
            weights[Array.IndexOf(MaritalNames, "Never-married")] *= Math.Exp(1.8 * young);
            weights[Array.IndexOf(MaritalNames, "Widowed")] *= Math.Exp(-1.5 * young);
            _maritalByAge[age - MinAge] = Cumulative(weights);
        }
    }

    /// <summary>Fills <paramref name="columns"/> with the next <paramref name="count"/> records (ids continue from the last block).</summary>
    public void Fill(IncomeColumns columns, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, columns.Capacity);
        for (var i = 0; i < count; i++)
        {
            Draw(columns, i);
        }
        columns.Count = count;
    }

    private void Draw(IncomeColumns c, int i)
    {
        c.Id[i] = _nextId++;
        // The fields that lean on age are drawn from the unshifted age, so a shift of age moves that column alone.
        var drawnAge = Normal(38.5, 13.5);
        var age = (int)Math.Round(Math.Clamp(drawnAge, MinAge, MaxAge));
        var education = Pick(_education);
        var educationNum = education + 1;
        var male = _random.NextDouble() < _shift.MaleShare;
        var unknownWork = _random.NextDouble() < _shift.UnknownShare;
        var workclass = Pick(_workclass);
        var occupation = Pick(_occupationByEducation[education]);
        var marital = Pick(_maritalByAge[age - MinAge]);

        string relationship;
        var maritalName = MaritalNames[marital];
        if (maritalName is "Married-civ-spouse" or "Married-AF-spouse")
        {
            relationship = male ? "Husband" : "Wife";
        }
        else if (maritalName == "Never-married" && age < 26 && _random.NextDouble() < 0.6)
        {
            relationship = "Own-child";
        }
        else
        {
            relationship = RelationshipNames[3 + Pick(_unattached)];
        }

        var hours = Normal(40.0, 11.0);
        var workclassName = WorkclassNames[workclass];
        var occupationName = OccupationNames[occupation];
        hours += workclassName is "Self-emp-inc" or "Self-emp-not-inc" ? 5.0 : 0.0;
        hours += occupationName == "Exec-managerial" ? 4.0 : 0.0;
        hours -= (age < 22 ? 12.0 : 0.0) + (age > 65 ? 15.0 : 0.0);
        hours -= male ? 0.0 : 4.0;

        var gainChance = (0.05 + (educationNum > 12 ? 0.03 : 0) + (age > 45 ? 0.03 : 0)) * _shift.CapitalGainRate;
        var hasGain = _random.NextDouble() < gainChance;
        var gain = hasGain ? Math.Min(Math.Round(Math.Exp(Normal(8.3, 1.0))), 99999) : 0;
        var hasLoss = !hasGain && _random.NextDouble() < 0.045;
        var loss = hasLoss ? Math.Round(Math.Clamp(Normal(1850, 350), 150, 4356)) : 0;

        c.Age[i] = (int)Math.Round(Math.Clamp(drawnAge + _shift.AgeYears, MinAge, MaxAge));
        c.EducationNum[i] = educationNum;
        c.HoursPerWeek[i] = (int)Math.Round(Math.Clamp(hours + _shift.HoursPerWeek, 1, 99));
        c.CapitalGain[i] = (int)gain;
        c.CapitalLoss[i] = (int)loss;
        c.Workclass[i] = unknownWork ? Unknown : workclassName;
        c.Education[i] = EducationNames[education];
        c.MaritalStatus[i] = maritalName;
        c.Occupation[i] = unknownWork ? Unknown : occupationName;
        c.Relationship[i] = relationship;
        c.Sex[i] = male ? "Male" : "Female";
    }

    // Box–Muller: one normal draw from two uniform ones (1 − u keeps the logarithm finite).
    private double Normal(double mean, double std) =>
        mean + std * Math.Sqrt(-2.0 * Math.Log(1.0 - _random.NextDouble())) * Math.Cos(2.0 * Math.PI * _random.NextDouble());

    private int Pick(double[] cumulative)
    {
        var u = _random.NextDouble() * cumulative[^1];
        var i = 0;
        while (i < cumulative.Length - 1 && u >= cumulative[i])
        {
            i++;
        }
        return i;
    }

    private static double[] Cumulative(double[] weights)
    {
        var sums = new double[weights.Length];
        var total = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            total += weights[i];
            sums[i] = total;
        }
        return sums;
    }
}
