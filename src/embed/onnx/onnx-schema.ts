import protobuf from 'protobufjs';

/**
 * The part of the ONNX protobuf schema that QuickSort reads and writes, as proto2 text parsed by protobufjs.
 *
 * Field numbers and packing follow onnx/onnx.proto (IR version 10); messages not listed (training info,
 * functions, sparse tensors, sequence and map types) are skipped by the decoder, which is all we need to
 * list a graph's tensors and to append outputs. The `…Outline` messages mirror their full twins without the
 * bulky fields (attributes, tensor payloads), so outlining a 500 MB model never materialises its weights.
 */
const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  optional int32 type = 20;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  optional Tensor tensor_type = 1;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message ModelOutline {
  optional int64 ir_version = 1;
  optional GraphOutline graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}

message GraphOutline {
  repeated NodeOutline node = 1;
  repeated TensorOutline initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message NodeOutline {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
}

message TensorOutline {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional int32 data_location = 14;
}

// What is appended to a model file to add graph outputs: see expose-outputs.ts.
message ModelPatch {
  optional GraphPatch graph = 7;
}

message GraphPatch {
  repeated ValueInfoProto output = 12;
}
`;

let root: protobuf.Root | undefined;

/** The parsed schema (parsed once, on first use). */
export function onnxSchema(): protobuf.Root {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root;
}

/** A message type of the schema, e.g. `onnxType('ModelProto')`. */
export function onnxType(name: string): protobuf.Type {
  return onnxSchema().lookupType(`onnx.${name}`);
}

/** TensorProto.DataType values (onnx.proto), for the element types QuickSort meets. */
export const ONNX_DATA_TYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values (onnx.proto). */
export const ONNX_ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** TensorProto.DataLocation.EXTERNAL: the tensor's bytes live in a side file named relative to the model. */
export const ONNX_EXTERNAL_DATA = 1;
