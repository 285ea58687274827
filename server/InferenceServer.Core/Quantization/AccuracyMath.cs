namespace InferenceServer.Core.Quantization;

/// <summary>The gate's arithmetic, apart from tensors so that it can be checked on known numbers.</summary>
public static class AccuracyMath
{
    /// <summary>
    /// The area under the ROC curve of <paramref name="scores"/> against <paramref name="positives"/>: the probability that a
    /// random positive scores above a random negative, ties counting half (the Mann–Whitney statistic, from average
    /// ranks). Null when the labels hold only one class, where it is undefined.
    /// </summary>
    public static double? Auc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> positives)
    {
        if (scores.Length != positives.Length)
        {
            throw new ArgumentException($"{scores.Length} scores but {positives.Length} labels", nameof(positives));
        }
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        long positiveCount = 0;
        double positiveRanks = 0;
        var at = 0;
        while (at < keys.Length)
        {
            // A run of equal scores shares the average of the ranks it spans (1-based).
            var end = at;
            while (end + 1 < keys.Length && keys[end + 1] == keys[at])
            {
                end++;
            }
            var rank = (at + end + 2) / 2.0;
            for (var i = at; i <= end; i++)
            {
                if (positives[order[i]])
                {
                    positiveCount++;
                    positiveRanks += rank;
                }
            }
            at = end + 1;
        }
        var negativeCount = scores.Length - positiveCount;
        if (positiveCount == 0 || negativeCount == 0)
        {
            return null;
        }
        return (positiveRanks - positiveCount * (positiveCount + 1) / 2.0) / ((double)positiveCount * negativeCount);
    }

    /// <summary>The index of the largest value (the first of equals): a classifier's decision over its class scores.</summary>
    public static int ArgMax(ReadOnlySpan<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
