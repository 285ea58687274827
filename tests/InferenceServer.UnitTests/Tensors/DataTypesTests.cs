using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

public sealed class DataTypesTests
{
    public static TheoryData<DataType> AllTypes()
    {
        var data = new TheoryData<DataType>();
        foreach (var type in DataTypes.All)
        {
            data.Add(type);
        }
        return data;
    }

    [Fact]
    public void All_lists_every_valid_enum_value_once()
    {
        var valid = Enum.GetValues<DataType>().Where(t => t != DataType.Invalid).OrderBy(t => t);
        Assert.Equal(valid, DataTypes.All.OrderBy(t => t));
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Protocol_name_round_trips(DataType type)
    {
        Assert.True(DataTypes.TryParseProtocolName(type.ProtocolName(), out var parsed));
        Assert.Equal(type, parsed);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Config_name_round_trips(DataType type)
    {
        Assert.True(DataTypes.TryParseConfigName(type.ConfigName(), out var parsed));
        Assert.Equal(type, parsed);
    }

    [Theory]
    [InlineData(DataType.Bool, "BOOL", "TYPE_BOOL")]
    [InlineData(DataType.UInt8, "UINT8", "TYPE_UINT8")]
    [InlineData(DataType.UInt16, "UINT16", "TYPE_UINT16")]
    [InlineData(DataType.UInt32, "UINT32", "TYPE_UINT32")]
    [InlineData(DataType.UInt64, "UINT64", "TYPE_UINT64")]
    [InlineData(DataType.Int8, "INT8", "TYPE_INT8")]
    [InlineData(DataType.Int16, "INT16", "TYPE_INT16")]
    [InlineData(DataType.Int32, "INT32", "TYPE_INT32")]
    [InlineData(DataType.Int64, "INT64", "TYPE_INT64")]
    [InlineData(DataType.Fp16, "FP16", "TYPE_FP16")]
    [InlineData(DataType.Bf16, "BF16", "TYPE_BF16")]
    [InlineData(DataType.Fp32, "FP32", "TYPE_FP32")]
    [InlineData(DataType.Fp64, "FP64", "TYPE_FP64")]
    [InlineData(DataType.Bytes, "BYTES", "TYPE_STRING")]
    public void Names_are_spelled_as_the_protocol_and_config_spell_them(DataType type, string protocol, string config)
    {
        Assert.Equal(protocol, type.ProtocolName());
        Assert.Equal(config, type.ConfigName());
    }

    [Fact]
    public void Type_string_is_bytes_and_type_bytes_is_not_a_config_name()
    {
        Assert.True(DataTypes.TryParseConfigName("TYPE_STRING", out var parsed));
        Assert.Equal(DataType.Bytes, parsed);
        Assert.False(DataTypes.TryParseConfigName("TYPE_BYTES", out parsed));
        Assert.Equal(DataType.Invalid, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fp32")]
    [InlineData("Fp32")]
    [InlineData("FP32 ")]
    [InlineData("STRING")]
    [InlineData("INVALID")]
    [InlineData("TYPE_FP32")]
    [InlineData("FLOAT")]
    public void Invalid_protocol_names_are_rejected(string name)
    {
        Assert.False(DataTypes.TryParseProtocolName(name, out var parsed));
        Assert.Equal(DataType.Invalid, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("FP32")]
    [InlineData("TYPE_")]
    [InlineData("TYPE_INVALID")]
    [InlineData("type_fp32")]
    [InlineData("TYPE_TYPE_FP32")]
    [InlineData("TYPE_STRINGS")]
    public void Invalid_config_names_are_rejected(string name)
    {
        Assert.False(DataTypes.TryParseConfigName(name, out var parsed));
        Assert.Equal(DataType.Invalid, parsed);
    }

    [Theory]
    [InlineData(DataType.Bool, 1)]
    [InlineData(DataType.UInt8, 1)]
    [InlineData(DataType.Int8, 1)]
    [InlineData(DataType.UInt16, 2)]
    [InlineData(DataType.Int16, 2)]
    [InlineData(DataType.Fp16, 2)]
    [InlineData(DataType.Bf16, 2)]
    [InlineData(DataType.UInt32, 4)]
    [InlineData(DataType.Int32, 4)]
    [InlineData(DataType.Fp32, 4)]
    [InlineData(DataType.UInt64, 8)]
    [InlineData(DataType.Int64, 8)]
    [InlineData(DataType.Fp64, 8)]
    [InlineData(DataType.Bytes, 0)]
    [InlineData(DataType.Invalid, 0)]
    public void Element_sizes(DataType type, int size)
    {
        Assert.Equal(size, type.ElementSize());
    }

    [Theory]
    [InlineData(DataType.Fp32, 1)]
    [InlineData(DataType.UInt8, 2)]
    [InlineData(DataType.Int64, 7)]
    [InlineData(DataType.Bytes, 8)]
    [InlineData(DataType.Bool, 9)]
    [InlineData(DataType.Fp16, 10)]
    [InlineData(DataType.Bf16, 16)]
    public void Enum_values_are_onnx_element_type_codes(DataType type, int onnxCode)
    {
        Assert.Equal(onnxCode, (int)type);
    }

    [Fact]
    public void Invalid_has_no_names()
    {
        Assert.Equal("INVALID", DataType.Invalid.ProtocolName());
        Assert.False(DataTypes.TryParseConfigName(DataType.Invalid.ConfigName(), out _));
    }
}
