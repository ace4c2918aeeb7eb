"""The Admin GraphQL API documents the connector sends, as data (API version 2025-01;
the fields used exist in every later version too, except where noted).

Reference: https://shopify.dev/docs/api/admin-graphql (objects ``Product``,
``ProductVariant``, ``Customer``, ``Order``, ``LineItem``, ``Fulfillment``; mutations
``orderCancel``, ``orderUpdate``, ``returnRequest``).

Page sizes. Shopify prices a query before running it (requested cost: an object 1, a
connection 2 + ``first`` x the cost of one node) and refuses one above 1,000 points
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits). Nested
connections multiply, so the sizes below keep each list query near 700-850 points;
the few products with more variants, or orders with more lines, than fit are finished
with a follow-up query per product or order before the record is handed on:

| query          | page | nested                                     | requested cost (est.) |
|----------------|------|--------------------------------------------|-----------------------|
| ``Products``   | 20   | variants 10                                | ~ 720                 |
| ``Customers``  | 100  | -                                          | ~ 300                 |
| ``Orders``     | 10   | lineItems 10, fulfillments 5               | ~ 840                 |
| follow-ups     | 100  | ``ProductVariants`` / ``OrderLineItems``   | ~ 300 / ~ 600         |

``updated_since`` becomes ``query: "updated_at:>='<UTC time>'"`` with ``sortKey:
UPDATED_AT``, so pages come oldest change first and a sync can resume from the last
time it saw (re-reading a record changed in that very second is harmless: the mirror's
upserts are idempotent).
"""

from __future__ import annotations

PRODUCTS_PAGE = 20
VARIANTS_PAGE = 10
CUSTOMERS_PAGE = 100
ORDERS_PAGE = 10
LINES_PAGE = 10
FULFILLMENTS = 5
FOLLOW_UP_PAGE = 100
RETURN_FULFILLMENTS = 10
RETURN_FULFILLMENT_LINES = 40

VARIANT_FIELDS = """
        id
        sku
        price
        compareAtPrice
        inventoryQuantity
        selectedOptions { name value }
        inventoryItem { id tracked }
"""

PRODUCT_FIELDS = f"""
      id
      handle
      title
      descriptionHtml
      vendor
      productType
      tags
      status
      updatedAt
      featuredImage {{ url }}
      variants(first: {VARIANTS_PAGE}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {VARIANT_FIELDS} }}
      }}
"""

PRODUCTS = f"""
query Products($first: Int!, $after: String, $query: String) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {PRODUCT_FIELDS} }}
  }}
}}
"""

PRODUCT_VARIANTS = f"""
query ProductVariants($id: ID!, $first: Int!, $after: String) {{
  product(id: $id) {{
    id
    variants(first: $first, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {VARIANT_FIELDS} }}
    }}
  }}
}}
"""

CUSTOMER_FIELDS = """
      id
      email
      firstName
      lastName
      phone
      createdAt
      updatedAt
      defaultAddress { city countryCodeV2 }
      emailMarketingConsent { marketingState }
"""

CUSTOMERS = f"""
query Customers($first: Int!, $after: String, $query: String) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {CUSTOMER_FIELDS} }}
  }}
}}
"""

LINE_FIELDS = """
          id
          title
          variantTitle
          quantity
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          variant { id selectedOptions { name value } }
          product { id }
"""

ORDER_FIELDS = f"""
      id
      name
      email
      createdAt
      processedAt
      updatedAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      currencyCode
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      subtotalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      totalShippingPriceSet {{ shopMoney {{ amount currencyCode }} }}
      shippingLine {{ title }}
      customer {{ {CUSTOMER_FIELDS} }}
      shippingAddress {{ name firstName lastName address1 address2 city zip countryCodeV2 }}
      fulfillments(first: {FULFILLMENTS}) {{
        id
        status
        displayStatus
        createdAt
        inTransitAt
        deliveredAt
        trackingInfo(first: 1) {{ company number }}
      }}
      lineItems(first: {LINES_PAGE}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {LINE_FIELDS} }}
      }}
"""

ORDERS = f"""
query Orders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}
"""

ORDER = f"""
query Order($id: ID!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""

ORDER_LINE_ITEMS = f"""
query OrderLineItems($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    id
    lineItems(first: $first, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {LINE_FIELDS} }}
    }}
  }}
}}
"""

ORDER_FULFILLMENT_LINES = f"""
query OrderFulfillmentLines($id: ID!) {{
  order(id: $id) {{
    id
    cancelledAt
    fulfillments(first: {RETURN_FULFILLMENTS}) {{
      id
      status
      fulfillmentLineItems(first: {RETURN_FULFILLMENT_LINES}) {{
        pageInfo {{ hasNextPage }}
        nodes {{ id quantity lineItem {{ id }} }}
      }}
    }}
  }}
}}
"""

SHOP_CURRENCY = """
query ShopCurrency {
  shop { currencyCode }
}
"""

INVENTORY_ITEM_VARIANT = """
query InventoryItemVariant($id: ID!) {
  inventoryItem(id: $id) {
    id
    tracked
    variant { id inventoryQuantity }
  }
}
"""

# orderCancel runs as a background job (https://shopify.dev/docs/api/admin-graphql/2025-01/mutations/orderCancel).
# Up to 2025-04 the refund is ``refund: Boolean!``; from 2025-07 ``refundMethod:
# OrderCancelRefundMethodInput`` (``{originalPaymentMethodsRefund: Boolean}``).
ORDER_CANCEL_REFUND = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
                     $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
              notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

ORDER_CANCEL_REFUND_METHOD = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput!,
                     $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock,
              notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

JOB = """
query JobStatus($id: ID!) {
  job(id: $id) { id done }
}
"""

ORDER_UPDATE = """
mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id }
    userErrors { field message }
  }
}
"""

# returnRequest, not returnCreate: the shopper asks, the merchant approves or declines in
# the Shopify admin (Return.status REQUESTED), as with the shop's own returns. returnCreate
# would open an already approved return, a decision that is the merchant's.
RETURN_REQUEST = """
mutation ReturnRequest($input: ReturnRequestInput!) {
  returnRequest(input: $input) {
    return {
      id
      name
      status
      returnLineItems(first: 10) {
        nodes { id quantity }
      }
    }
    userErrors { field message code }
  }
}
"""
