import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_DESIGN } from '../../adapters/dynamodb/keys.js';

export interface StoreTableProps {
  /**
   * What happens to the table (and every campaign, case and audit event in it) when the stack goes.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Every index projects every attribute, as TABLE_DESIGN's did before its indexes held keys only: for a table
   * deployed then, whose indexes CloudFormation cannot change in place (a projection is set when an index is
   * made). The store reads a record from an index row that carries one, and from the table otherwise.
   * @default false: TABLE_DESIGN's projections
   */
  readonly indexesProjectAll?: boolean;
}

/** The single table of the DynamoDB store, built from the adapter's own TABLE_DESIGN so the two cannot drift. */
export class StoreTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StoreTableProps = {}) {
    super(scope, id);
    const attribute = (key: { name: string; type: string }) => {
      if (key.type !== 'S') throw new Error(`TABLE_DESIGN key ${key.name} has type ${key.type}; only S is mapped`);
      return { name: key.name, type: AttributeType.STRING };
    };
    this.table = new Table(this, 'Table', {
      partitionKey: attribute(TABLE_DESIGN.partitionKey),
      sortKey: attribute(TABLE_DESIGN.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_DESIGN.timeToLiveAttribute,
      // the audit trail lives here: a bad deploy or a bad script must be recoverable to the second
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of TABLE_DESIGN.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        ...(props.indexesProjectAll
          ? { projectionType: ProjectionType.ALL }
          : {
              // ProjectionType's members are named as DynamoDB's projection types
              projectionType: ProjectionType[index.projection],
              ...('nonKeyAttributes' in index ? { nonKeyAttributes: [...index.nonKeyAttributes] } : {}),
            }),
      });
    }
  }
}
