namespace InferenceServer.Tests.Common.IncomeData;

/// <summary>
/// A block of generated income records, one array per field (the layout Parquet writes), reused from block to block.
/// The categorical cells hold the vocabulary's own string instances, so a block of any size allocates nothing per row.
/// </summary>
internal sealed class IncomeColumns
{
    public IncomeColumns(int capacity)
    {
        Id = new long[capacity];
        Age = new int[capacity];
        EducationNum = new int[capacity];
        HoursPerWeek = new int[capacity];
        CapitalGain = new int[capacity];
        CapitalLoss = new int[capacity];
        Workclass = new string[capacity];
        Education = new string[capacity];
        MaritalStatus = new string[capacity];
        Occupation = new string[capacity];
        Relationship = new string[capacity];
        Sex = new string[capacity];
    }

    /// <summary>How many rows the block holds now (at most the arrays' length).</summary>
    public int Count { get; set; }

    public int Capacity => Id.Length;

    /// <summary>The entity key: the row's number in the file, from 0.</summary>
    public long[] Id { get; }

    public int[] Age { get; }

    public int[] EducationNum { get; }

    public int[] HoursPerWeek { get; }

    public int[] CapitalGain { get; }

    public int[] CapitalLoss { get; }

    public string[] Workclass { get; }

    public string[] Education { get; }

    public string[] MaritalStatus { get; }

    public string[] Occupation { get; }

    public string[] Relationship { get; }

    public string[] Sex { get; }
}
