using System.Runtime.InteropServices;
using System.Text;
using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Features;

/// <summary>
/// Every transform and the edges between present, missing, expired and wrong values: a request value wins over the
/// store's, a stored value past its TTL counts as missing (exactly at the TTL it does not), NaN is missing, infinity and
/// text that is no number refuse the row naming it, and vocabularies treat unknown values as declared.
/// </summary>
public sealed class FeatureTransformTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static FeatureView View(string features, string columns, string store = "") =>
        FeatureViewReader.Parse($"{store}\n{features}\noutput {{ name: \"out\" datatype: \"FP64\" column: [ {columns} ] }}", "t");

    private static double[] Encode(FeatureView view, Action<FeatureRows> fill, int count = 1)
    {
        using var rows = view.RentRows(count);
        fill(rows);
        var tensors = view.Transform(rows, Now);
        try
        {
            Assert.Equal([count, view.Outputs[0].Width], tensors[0].Shape);
            return MemoryMarshal.Cast<byte, double>(tensors[0].Data).ToArray();
        }
        finally
        {
            foreach (var tensor in tensors)
            {
                tensor.Dispose();
            }
        }
    }

    private static double One(string transforms, double x) =>
        Encode(View($"feature {{ name: \"x\" {transforms} }}", "\"x\""), rows => rows.SetNumber(0, 0, x))[0];

    [Fact]
    public void Numeric_transforms_compute_their_formulas_in_order()
    {
        Assert.Equal((52.0 - 38.6) / 13.6, One("transform { standardize { mean: 38.6 std: 13.6 } }", 52));
        Assert.Equal(0.25, One("transform { min_max { min: 10 max: 50 } }", 20));
        Assert.Equal(Math.Log(1 + 15024.0), One("transform { log1p {} }", 15024), 15);
        // log1p keeps the digits of a small x that Log(1 + x) loses.
        Assert.Equal(1e-20, One("transform { log1p {} }", 1e-20));
        Assert.Equal((Math.Log(2) - 0.5) / 2, One("transform { log1p {} } transform { standardize { mean: 0.5 std: 2 } }", 1), 15);
        Assert.Equal(7, One("transform { clip { min: -1 max: 7 } }", 90));
        Assert.Equal(-1, One("transform { clip { min: -1 max: 7 } }", -5));
        Assert.Equal(3.5, One("transform { clip { min: -1 max: 7 } }", 3.5));
        // An unwritten bound is open.
        Assert.Equal(1e9, One("transform { clip { min: 0 } }", 1e9));
        Assert.Equal(0, One("transform { clip { max: 0 } }", 12));
        Assert.Equal(12, One("", 12));
    }

    [Theory]
    [InlineData(17.999, 0)]
    [InlineData(18, 1)]  // on an edge: the bucket above it
    [InlineData(40, 1)]
    [InlineData(64.999, 1)]
    [InlineData(65, 2)]
    [InlineData(-1e300, 0)]
    [InlineData(1e300, 2)]
    public void Bucketize_puts_a_value_on_an_edge_in_the_bucket_above_it(double x, double bucket) =>
        Assert.Equal(bucket, One("transform { bucketize { boundaries: [ 18, 65 ] } }", x));

    [Fact]
    public void One_hot_sets_the_value_s_column_and_unknown_values_set_none_or_the_oov_bucket()
    {
        var plain = View("feature { name: \"c\" kind: TEXT transform { one_hot { value: [ \"a\", \"b\", \"c\" ] } } }", "\"c\"");
        Assert.Equal([0, 1, 0], Encode(plain, rows => rows.SetText(0, 0, "b")));
        Assert.Equal([0, 0, 0], Encode(plain, rows => rows.SetText(0, 0, "z")));
        // Exact matches: case and spaces count.
        Assert.Equal([0, 0, 0], Encode(plain, rows => rows.SetText(0, 0, "B")));
        var bucket = View("feature { name: \"c\" kind: TEXT transform { one_hot { value: [ \"a\", \"b\" ] oov_bucket: true } } }", "\"c\"");
        Assert.Equal([0, 0, 1], Encode(bucket, rows => rows.SetText(0, 0, "z")));
        Assert.Equal([1, 0, 0], Encode(bucket, rows => rows.SetText(0, 0, "a"u8)));
    }

    [Fact]
    public void Ordinal_gives_the_index_then_numeric_transforms_and_an_unknown_value_its_bucket_or_an_error()
    {
        var bucket = View("feature { name: \"c\" kind: TEXT transform { ordinal { value: [ \"a\", \"b\" ] oov_bucket: true } } transform { standardize { mean: 1 std: 2 } } }", "\"c\"");
        Assert.Equal([-0.5], Encode(bucket, rows => rows.SetText(0, 0, "a")));
        Assert.Equal([0.5], Encode(bucket, rows => rows.SetText(0, 0, "z")));
        var strict = View("feature { name: \"c\" kind: TEXT transform { ordinal { value: [ \"a\", \"b\" ] } } }", "\"c\"");
        Assert.Equal([1], Encode(strict, rows => rows.SetText(0, 0, "b")));
        var e = Assert.Throws<FeatureException>(() => Encode(strict, rows => rows.SetText(0, 0, "z")));
        Assert.Equal("row 0: field 'c': 'z' is not in the vocabulary of feature 'c', which has no out-of-vocabulary bucket", e.Message);
    }

    [Fact]
    public void A_number_given_for_a_text_feature_is_looked_up_as_written_invariantly()
    {
        var view = View("feature { name: \"c\" kind: TEXT transform { ordinal { value: [ \"1\", \"2.5\" ] } } }", "\"c\"");
        Assert.Equal([1], Encode(view, rows => rows.SetNumber(0, 0, 2.5)));
        Assert.Equal([0], Encode(view, rows => rows.SetNumber(0, 0, 1)));
    }

    [Fact]
    public void Text_given_for_a_number_feature_is_parsed_invariantly_and_text_that_is_no_number_refuses_the_row()
    {
        var view = View("feature { name: \"x\" }", "\"x\"");
        Assert.Equal([1500], Encode(view, rows => rows.SetText(0, 0, " 1.5e3 ")));
        Assert.Equal([-2.25], Encode(view, rows => rows.SetText(0, 0, "-2.25"u8)));
        var e = Assert.Throws<FeatureException>(() => Encode(view, rows => rows.SetText(0, 0, "1,5")));
        Assert.Equal(0, e.Row);
        Assert.Equal("x", e.Field);
        Assert.Equal("row 0: field 'x': '1,5' is not a number", e.Message);
    }

    [Fact]
    public void NaN_counts_as_missing_and_takes_the_default_while_infinity_refuses_the_row()
    {
        var view = View("feature { name: \"x\" transform { standardize { mean: 1 std: 2 } } default_number: 5 }", "\"x\"");
        Assert.Equal([2], Encode(view, rows => rows.SetNumber(0, 0, double.NaN)));
        Assert.Equal([2], Encode(view, rows => rows.SetText(0, 0, "NaN")));
        Assert.Equal([2], Encode(view, rows => rows.SetText(0, 0, "  ")));
        Assert.Equal([2], Encode(view, _ => { }));
        var e = Assert.Throws<FeatureException>(() => Encode(view, rows => rows.SetNumber(0, 0, double.PositiveInfinity)));
        Assert.Equal("row 0: field 'x': Infinity is not a finite number", e.Message);
        Assert.Throws<FeatureException>(() => Encode(view, rows => rows.SetText(0, 0, "-Infinity")));
    }

    [Fact]
    public void A_value_a_transform_does_not_take_refuses_the_row()
    {
        var view = View("feature { name: \"x\" transform { log1p {} } }", "\"x\"");
        var e = Assert.Throws<FeatureException>(() => Encode(view, rows => rows.SetNumber(0, 0, -1)));
        Assert.Equal("row 0: field 'x': feature 'x': log1p takes values above -1, got -1", e.Message);
    }

    [Fact]
    public void A_missing_value_without_a_default_refuses_the_row_naming_row_and_field()
    {
        var view = View("feature { name: \"x\" }\nfeature { name: \"y\" }", "\"x\", \"y\"");
        var e = Assert.Throws<FeatureException>(() => Encode(view, rows =>
        {
            rows.SetNumber(0, 0, 1);
            rows.SetNumber(0, 1, 2);
            rows.SetNumber(1, 0, 3);
            rows.SetMissing(1, 1);
        }, count: 2));
        Assert.Equal(1, e.Row);
        Assert.Equal("row 1: field 'y': missing: not in the request, and feature 'y' has no default", e.Message);
    }

    private const string StoreDeclaration = "entity_key: \"id\"\nstore { key_pattern: \"e:{id}\" ttl_seconds: 10 }";

    [Fact]
    public void A_request_value_wins_over_the_store_s_and_the_store_s_fills_in_what_the_request_lacks()
    {
        var view = View("feature { name: \"x\" }\nfeature { name: \"c\" kind: TEXT transform { one_hot { value: [ \"a\", \"b\" ] } } }", "\"x\", \"c\"", StoreDeclaration);
        Assert.Equal(["x", "c"], view.StoreFields);
        var encoded = Encode(view, rows =>
        {
            rows.SetStoredAt(0, Now.ToUnixTimeMilliseconds() - 1000);
            rows.SetStoreValue(0, 0, "7"u8);
            rows.SetStoreValue(0, 1, "a"u8);
            rows.SetNumber(0, 0, 3);
            rows.SetStoredAt(1, Now.ToUnixTimeMilliseconds() - 1000);
            rows.SetStoreValue(1, 0, "7"u8);
            rows.SetStoreValue(1, 1, "b"u8);
        }, count: 2);
        Assert.Equal([3, 1, 0, 7, 0, 1], encoded);
    }

    [Fact]
    public void A_stored_value_exactly_at_its_ttl_counts_and_one_millisecond_older_is_missing()
    {
        var view = View("feature { name: \"x\" }\nfeature { name: \"y\" default_number: -1 }", "\"x\", \"y\"", StoreDeclaration);
        void Fill(FeatureRows rows, long age)
        {
            rows.SetStoredAt(0, Now.ToUnixTimeMilliseconds() - age);
            rows.SetStoreValue(0, 0, "1"u8);
            rows.SetStoreValue(0, 1, "2"u8);
        }
        Assert.Equal([1, 2], Encode(view, rows => Fill(rows, 10_000)));
        var e = Assert.Throws<FeatureException>(() => Encode(view, rows => Fill(rows, 10_001)));
        Assert.Equal("row 0: field 'x': missing: its stored value expired (written 10.001 s ago, the TTL is 10 s) and feature 'x' has no default", e.Message);
        // A feature's own TTL overrides the store's; an expired value with a default takes the default.
        var own = View("feature { name: \"x\" ttl_seconds: 20 }\nfeature { name: \"y\" default_number: -1 }", "\"x\", \"y\"", StoreDeclaration);
        Assert.Equal([1, -1], Encode(own, rows => Fill(rows, 15_000)));
    }

    [Fact]
    public void Stored_numbers_are_parsed_invariantly_and_stored_text_is_decoded_from_utf8()
    {
        var view = View("feature { name: \"x\" }\nfeature { name: \"c\" kind: TEXT transform { one_hot { value: [ \"São Paulo\", \"Zürich\" ] } } }", "\"x\", \"c\"", StoreDeclaration);
        Assert.Equal([0.125, 0, 1], Encode(view, rows =>
        {
            rows.SetStoreValue(0, 0, "1.25E-1"u8);
            rows.SetStoreValue(0, 1, Encoding.UTF8.GetBytes("Zürich"));
        }));
        var e = Assert.Throws<FeatureException>(() => Encode(view, rows =>
        {
            rows.SetStoreValue(0, 0, "twelve"u8);
            rows.SetStoreValue(0, 1, "x"u8);
        }));
        Assert.Equal("row 0: field 'x': the stored value 'twelve' is not a number", e.Message);
        // Long stored text (beyond the stack buffer) is looked up as well.
        var longView = View("feature { name: \"c\" kind: TEXT transform { ordinal { value: [ \"" + new string('q', 600) + "\" ] oov_bucket: true } } }", "\"c\"", StoreDeclaration);
        Assert.Equal([0], Encode(longView, rows => rows.SetStoreValue(0, 0, Encoding.UTF8.GetBytes(new string('q', 600)))));
        Assert.Equal([1], Encode(longView, rows => rows.SetStoreValue(0, 0, Encoding.UTF8.GetBytes(new string('q', 601)))));
    }

    [Fact]
    public void Source_decides_which_value_a_feature_reads()
    {
        var view = View("feature { name: \"s\" source: STORE default_number: 0 }\nfeature { name: \"r\" source: REQUEST default_number: 0 }", "\"s\", \"r\"", StoreDeclaration);
        Assert.Equal(["s"], view.StoreFields);
        Assert.Equal([5, 0], Encode(view, rows =>
        {
            rows.SetNumber(0, 0, 9);  // ignored: s reads only the store
            rows.SetStoreValue(0, 0, "5"u8);
        }));
        Assert.Equal([0, 4], Encode(view, rows => rows.SetNumber(0, 1, 4)));
    }

    [Fact]
    public void Integer_outputs_round_to_the_nearest_and_several_outputs_come_back_in_order()
    {
        var view = FeatureViewReader.Parse("""
            feature { name: "x" }
            feature { name: "b" field: "x" transform { bucketize { boundaries: [ 0, 10 ] } } }
            output { name: "dense" column: "x" }
            output { name: "index" datatype: "INT32" column: "b" }
            output { name: "raw" datatype: "INT64" column: "x" }
            """, "t");
        using var rows = view.RentRows(2);
        rows.SetNumber(0, 0, 2.5);
        rows.SetNumber(1, 0, 11.5);
        var tensors = view.Transform(rows, Now);
        Assert.Equal(["dense", "index", "raw"], tensors.Select(t => t.Name));
        Assert.Equal([DataType.Fp32, DataType.Int32, DataType.Int64], tensors.Select(t => t.DataType));
        Assert.Equal([2.5f, 11.5f], MemoryMarshal.Cast<byte, float>(tensors[0].Data).ToArray());
        Assert.Equal([1, 2], MemoryMarshal.Cast<byte, int>(tensors[1].Data).ToArray());
        Assert.Equal([2L, 12L], MemoryMarshal.Cast<byte, long>(tensors[2].Data).ToArray());
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }

    [Fact]
    public void Rows_given_back_come_out_again_with_every_value_missing()
    {
        var view = View("feature { name: \"x\" default_number: 0 }", "\"x\"");
        FeatureRows first;
        using (first = view.RentRows(3))
        {
            first.SetNumber(2, 0, 8);
        }
        using var again = view.RentRows(2);
        Assert.Same(first, again);
        Assert.Equal(2, again.Count);
        var tensors = view.Transform(again, Now);
        Assert.Equal([0.0, 0.0], MemoryMarshal.Cast<byte, double>(tensors[0].Data).ToArray());
        tensors[0].Dispose();
        Assert.Throws<ArgumentOutOfRangeException>(() => again.SetNumber(2, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => again.SetNumber(0, 1, 1));
    }
}
